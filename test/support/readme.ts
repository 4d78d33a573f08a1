import { readFileSync } from "node:fs";
import { repositoryRoot } from "./client-package.js";

export const readme = readFileSync(`${repositoryRoot}README.md`, "utf8");

/** The README's fenced code blocks in this language, in order. */
export const readmeBlocks = (language: string) => [...readme.matchAll(new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``, "g"))].map((match) => match[1]!);
