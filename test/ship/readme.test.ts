import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docBlocks } from "../support/doc-blocks.js";
import { readmeBlocks as blocks } from "../support/readme.js";

/**
 * The README's shell commands, pasted as a newcomer would, then those of docs/using-the-api.md, in
 * the order they are given, into one bash session: the quick start starts the service on its
 * default ports and captures the root key, ids and secrets into shell variables, and every later
 * command runs as written against that service. Only `npm ci` is left out (the suite runs from the
 * installed checkout), and the commands meant for a project of the reader's own.
 */
const root = fileURLToPath(new URL("../..", import.meta.url));
const run = promisify(execFile);
/** Run elsewhere: the client example's commands belong to a project of the reader's own, and client-package.test runs that example. */
const inOwnProject = (block: string) => block.includes("npm install /path/to/latchkey");
const USING_THE_API = "docs/using-the-api.md";
const [quickStart, firstKey] = blocks("sh").filter((block) => !block.includes("npm test"));
const later = docBlocks(USING_THE_API, "sh").filter((block) => !inOwnProject(block));
const testCommands = blocks("sh").find((block) => block.includes("npm test"))!;
const installedAlready = (block: string) => block.replace(/^npm ci\n/, "");
const DONE = "__readme_command_done__";
const commandsOf = (block: string) =>
  block
    .split(/\n\s*\n/)
    .map((command) => command.trim())
    .filter(Boolean);

let session: ChildProcess;
let output = "";
let answers: string[] = [];
const work = mkdtempSync(join(tmpdir(), "latchkey-readme-"));

beforeAll(async () => {
  const commands = [installedAlready(quickStart!), ...[firstKey!, ...later].flatMap(commandsOf)];
  const script = `set -euo pipefail\n${commands.map((command) => `${command}\necho ${DONE}`).join("\n")}\n`;
  session = spawn("bash", ["-c", script], {
    cwd: root,
    env: { ...process.env, MONGODB_URI: "", NODE_ENV: "development", ACCESS_LOG: "false" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let errors = "";
  session.stdout!.on("data", (chunk) => (output += chunk));
  session.stderr!.on("data", (chunk) => (errors += chunk));
  const [code] = await once(session, "exit");
  if (code !== 0) throw new Error(`the README's and ${USING_THE_API}'s commands stopped with ${code}: ${output}\n${errors}`);
  answers = output.split(`${DONE}\n`).slice(0, -1);
}, 180_000);

afterAll(async () => {
  rmSync(work, { recursive: true, force: true });
  // The service the quick start left running in the background, in the session's process group.
  try {
    process.kill(-session.pid!, "SIGTERM");
  } catch {
    return;
  }
});

const json = (answer: string | undefined) => JSON.parse(answer!.split("\n# →")[0]!);

describe("README.md and docs/using-the-api.md", () => {
  it("names as its test command exactly what .ci/run runs first", () => {
    const testCommand = testCommands
      .split("\n")
      .find((line) => line.includes("npm test"))!
      .replace(/\s+#.*$/, "");
    expect(readFileSync(`${root}.ci/run`, "utf8").split("\n")).toContain(testCommand);
  });

  it("the quick start starts the service, captures the development root key, and verifies a key it creates", () => {
    const [started, keyspace, key, verified] = answers;
    expect(started).toBe("");
    expect(keyspace).toBe("");
    expect(key).toBe("");
    expect(json(verified)).toMatchObject({ valid: true, code: "VERIFY_CODE_VALID", creditsRemaining: "999" });
    expect(readFileSync(`${root}latchkey.log`, "utf8")).toMatch(/"message":"listening"/);
  });

  it("every command of docs/using-the-api.md runs against that service as written, each answering what the page says", () => {
    const [services, updated, credits, rerolled, imported, read, whoAmI, health, viaCurl, webVerifier, verified] = answers.slice(4);
    expect(answers).toHaveLength(15);
    expect(services).toContain("latchkey.v1.VerifyService");
    expect(json(updated).key.name).toBe("nightly");
    expect(json(credits).key.credits.remaining).toBe("1499");
    expect(json(rerolled)).toMatchObject({ secret: expect.stringMatching(/^pay_/), key: { previousSecret: { start: expect.stringMatching(/^pay_/) } } });
    expect(json(imported).results).toHaveLength(2);
    expect(json(imported).results.every((result: { key?: unknown }) => result.key)).toBe(true);
    expect(json(read).key.name).toBe("nightly");
    expect(json(read).key.plaintext).toBeUndefined();
    expect(json(whoAmI).key.id).toBe(json(read).key.id);
    expect(json(health).status).toBe("SERVING");
    expect(json(viaCurl).key.id).toBe(json(read).key.id);
    expect(json(webVerifier).rootKey.permissions).toEqual(["key.verify"]);
    expect(json(verified)).toMatchObject({ code: "VERIFY_CODE_VALID", creditsRemaining: "1498" });
  });

  it("the pattern for secret scanners in docs/concepts.md matches the keys the service issues", () => {
    const pattern = readFileSync(`${root}docs/concepts.md`, "utf8")
      .split("\n")
      .find((line) => line.startsWith("\\b[a-z]"))!;
    expect(json(answers[7]).secret).toMatch(new RegExp(`^${pattern}$`));
  });

  it("the quick start's wait gives up at once when the service exits, as it does with its port taken, and says so", async () => {
    const taken: Server = createServer().listen(0, "127.0.0.1");
    await once(taken, "listening");
    const port = (taken.address() as { port: number }).port;
    const log = join(work, "taken.log");
    const started = Date.now();
    const failed = await run("bash", ["-c", `set -uo pipefail\n${installedAlready(quickStart!).replaceAll("latchkey.log", log)}`], {
      cwd: root,
      env: { ...process.env, MONGODB_URI: "", PORT: String(port), HTTP1_PORT: "0", GRPC_PORT: "0", METRICS_PORT: "0" },
      timeout: 90_000,
    }).catch((error: { stderr: string }) => error);
    taken.close();
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(failed.stderr).toContain(`latchkey failed to start: PORT ${port} on 127.0.0.1 is already in use`);
    expect(failed.stderr).toContain("latchkey did not start");
  }, 90_000);

  it("the quick start's wait gives up at its deadline when the service never listens, whatever an earlier run left in the log", async () => {
    const log = join(work, "silent.log");
    writeFileSync(log, '{"message":"listening"}\n{"rootKey":"root_ofAnEarlierRun"}\n');
    const neverListens = installedAlready(quickStart!)
      .replace(/^npm start .*$/m, "sleep 30 >/dev/null 2>&1 &")
      .replace("SECONDS + 60", "SECONDS + 1")
      .replaceAll("latchkey.log", log);
    const started = Date.now();
    const failed = await run("bash", ["-c", `set -uo pipefail\n${neverListens}`], { cwd: root, timeout: 25_000 }).catch((error: { stderr: string }) => error);
    expect(Date.now() - started).toBeLessThan(25_000);
    expect(failed.stderr).toContain("latchkey did not start");
  }, 30_000);

  it("the TypeScript snippet of docs/using-the-api.md type-checks against the generated code", async () => {
    const [snippet] = docBlocks(USING_THE_API, "ts");
    const file = `${root}readme-snippet-${process.pid}.ts`;
    writeFileSync(file, snippet!);
    try {
      const options = [
        "--noEmit",
        "--strict",
        "--module",
        "nodenext",
        "--moduleResolution",
        "nodenext",
        "--target",
        "es2022",
        "--skipLibCheck",
        "--types",
        "node",
      ];
      await expect(run("npx", ["tsc", ...options, file], { cwd: root })).resolves.toBeDefined();
    } finally {
      rmSync(file, { force: true });
    }
  }, 60_000);
});
