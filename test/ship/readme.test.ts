import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readme, readmeBlocks as blocks } from "../support/readme.js";

/**
 * The README's commands, run as a newcomer would paste them, in the order it gives them: the
 * first-key block starts the service on its default ports, and every later command runs against
 * it, its `…` placeholders filled in from what earlier commands answered.
 */
const root = fileURLToPath(new URL("../..", import.meta.url));
const run = promisify(execFile);
const shellBlocks = blocks("sh");
const [twoCommands, firstKey, ...later] = shellBlocks as [string, string, ...string[]];

/** Values for the README's placeholders, learnt from the answers of the commands before. */
const placeholders = new Map<string, string>([["sk_live_4f9a…", `sk_live_4f9a${randomBytes(12).toString("hex")}`]]);
let session: ChildProcess;
let sessionOutput = "";
let rootKey: string;

beforeAll(async () => {
  // The block as written; `wait` keeps the shell, and with it the service it started, running.
  session = spawn("bash", ["-c", `set -euo pipefail\n${firstKey}\nwait\n`], {
    cwd: root,
    env: { ...process.env, MONGODB_URI: "", ACCESS_LOG: "false" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  session.stdout!.on("data", (chunk) => (sessionOutput += chunk));
  const exited = once(session, "exit").then(([code]) => {
    throw new Error(`the first-key block exited with ${code}: ${sessionOutput}`);
  });
  const created = new Promise<string>((resolve) => {
    session.stdout!.on("data", () => {
      const secret = /"rootKeySecret": "(root_\w+)"/.exec(sessionOutput)?.[1];
      if (secret) resolve(secret);
    });
  });
  rootKey = await Promise.race([created, exited]);
}, 150_000);

afterAll(async () => {
  if (session.exitCode !== null) return;
  const exited = once(session, "exit");
  process.kill(-session.pid!, "SIGTERM");
  await exited;
});

/** One command of the README (lines joined by `\` count as one), with its placeholders filled in. */
async function runCommand(command: string): Promise<string> {
  const filled = command.replaceAll(/\b[a-z_]+…/g, (placeholder) => {
    const value = placeholders.get(placeholder);
    if (value === undefined) throw new Error(`nothing answered before gives a value for ${placeholder} in: ${command}`);
    return value;
  });
  const script = `set -euo pipefail\nauth=(-H "Authorization: Bearer $ROOT_KEY")\n${filled}`;
  const { stdout } = await run("bash", ["-c", script], { cwd: root, env: { ...process.env, ROOT_KEY: rootKey }, timeout: 30_000 });
  return stdout;
}

/** Learns the ids and secrets later commands stand for with `ks_…`, `key_…` and `pay_…`. */
function learnFrom(answer: { keyspace?: { id: string }; key?: { id: string }; secret?: string }) {
  if (answer.keyspace?.id) placeholders.set("ks_…", answer.keyspace.id);
  if (answer.key?.id && answer.secret) {
    placeholders.set("key_…", answer.key.id);
    placeholders.set("pay_…", answer.secret);
  }
}

const commandsOf = (block: string) => block.split(/\n\s*\n/).map((command) => command.trim()).filter(Boolean);

describe("README.md", () => {
  it("names as its test command exactly what .ci/run runs first", () => {
    const testCommand = twoCommands.split("\n").find((line) => line.includes("npm test"))!.replace(/\s+#.*$/, "");
    expect(readFileSync(`${root}.ci/run`, "utf8").split("\n")).toContain(testCommand);
  });

  it("the first-key block starts the service, waits for it, and creates a workspace with its first root key", () => {
    expect(rootKey).toMatch(/^root_/);
    expect(sessionOutput).toMatch(/"rootKeySecret": "root_/);
  });

  it("every later command runs against that service as written, each answering what the README says", async () => {
    const answers: string[] = [];
    for (const block of later) {
      for (const command of commandsOf(block)) {
        const stdout = await runCommand(command);
        if (stdout.trimStart().startsWith("{")) learnFrom(JSON.parse(stdout));
        answers.push(stdout);
      }
    }
    const [services, keyspace, key, updated, credits, rerolled, imported, read, whoAmI, health, viaCurl, webVerifier, verified] = answers;
    expect(answers).toHaveLength(13);
    expect(services).toContain("latchkey.v1.VerifyService");
    expect(JSON.parse(keyspace!).keyspace.defaultPrefix).toBe("pay");
    expect(JSON.parse(key!).secret).toMatch(/^pay_/);
    expect(JSON.parse(updated!).key.name).toBe("nightly");
    expect(JSON.parse(credits!).key.credits.remaining).toBe("1500");
    expect(JSON.parse(rerolled!)).toMatchObject({ secret: expect.stringMatching(/^pay_/), key: { previousSecret: { start: JSON.parse(key!).key.start } } });
    expect(JSON.parse(imported!).results).toHaveLength(2);
    expect(JSON.parse(imported!).results.every((result: { key?: unknown }) => result.key)).toBe(true);
    expect(JSON.parse(read!).key).toMatchObject({ id: placeholders.get("key_…") });
    expect(JSON.parse(read!).key.plaintext).toBeUndefined();
    expect(JSON.parse(whoAmI!).key.id).toBe(placeholders.get("key_…"));
    expect(JSON.parse(health!).status).toBe("SERVING");
    expect(JSON.parse(viaCurl!).key.id).toBe(placeholders.get("key_…"));
    expect(JSON.parse(webVerifier!).rootKey.permissions).toEqual(["key.verify"]);
    expect(JSON.parse(verified!)).toMatchObject({ code: "VERIFY_CODE_VALID", creditsRemaining: "1499" });
  }, 120_000);

  it("its pattern for secret scanners matches the keys the service issues", () => {
    const pattern = readme.split("\n").find((line) => line.startsWith("\\b[a-z]"))!;
    expect(placeholders.get("pay_…")).toMatch(new RegExp(`^${pattern}$`));
  });

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
