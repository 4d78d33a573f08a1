import { readFileSync } from "node:fs";
import { repositoryRoot } from "./client-package.js";

/** The fenced code blocks of one language in a file of the repository (docs/…), in order, so tests run the docs as written. */
export const docBlocks = (path: string, language: string) =>
  [...readFileSync(`${repositoryRoot}${path}`, "utf8").matchAll(new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``, "g"))].map((match) => match[1]!);
