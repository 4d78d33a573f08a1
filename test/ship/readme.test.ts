import { execFile } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

/** The README's commands, run as a newcomer would paste them. */
const root = fileURLToPath(new URL("../..", import.meta.url));
const readme = readFileSync(`${root}README.md`, "utf8");
const blocks = (language: string) => [...readme.matchAll(new RegExp("```" + language + "\\n([\\s\\S]*?)```", "g"))].map((match) => match[1]!);
const run = promisify(execFile);

describe("README.md", () => {
  it("the first-key block starts the service, waits for it, and creates a workspace with its first root key", async () => {
    const block = blocks("sh").find((text) => text.includes("CreateWorkspace") && text.includes("npm start &"))!;
    expect(block).toBeDefined();
    // The block as written, then stop the service it started in the background.
    const script = `set -euo pipefail\n${block}\nkill "$(jobs -p)"\nwait\n`;
    const { stdout } = await run("bash", ["-c", script], { cwd: root, env: { ...process.env, MONGODB_URI: "", ACCESS_LOG: "false" }, timeout: 120_000 });
    expect(stdout).toMatch(/"rootKeySecret": "root_/);
    expect(stdout).toContain('"stopped"');
  }, 150_000);

  it("the TypeScript snippet type-checks against the generated code", async () => {
    const [snippet] = blocks("ts");
    const file = `${root}readme-snippet-${process.pid}.ts`;
    writeFileSync(file, snippet!);
    try {
      const options = ["--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--skipLibCheck", "--types", "node"];
      await expect(run("npx", ["tsc", ...options, file], { cwd: root })).resolves.toBeDefined();
    } finally {
      rmSync(file, { force: true });
    }
  }, 60_000);
});
