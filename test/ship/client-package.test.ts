import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/domain/ids.js";
import { startTestServer, type TestServer } from "../support/server.js";

/**
 * packages/client as a consumer gets it: `npm pack`, installed from the tarball into a project of
 * its own, then used from plain JavaScript and type-checked from TypeScript against a running service.
 */
const root = fileURLToPath(new URL("../..", import.meta.url));
const run = promisify(execFile);
const project = mkdtempSync(join(tmpdir(), "latchkey-consumer-"));
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  await run("npm", ["pack", "-w", "packages/client", "--pack-destination", project], { cwd: root });
  const tarball = readdirSync(project).find((file) => file.endsWith(".tgz"))!;
  const manifest = { name: "consumer", type: "module", private: true, dependencies: { "@latchkey/client": `file:./${tarball}`, "@connectrpc/connect-node": "2.1.1" } };
  writeFileSync(join(project, "package.json"), JSON.stringify(manifest));
  await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], { cwd: project });
}, 180_000);

afterAll(async () => {
  await server.stop();
  rmSync(project, { recursive: true, force: true });
});

const consumer = `
import { createLatchkeyClient, LatchkeyError, pages, VerifyCode } from "@latchkey/client/node";

const client = createLatchkeyClient({ baseUrl: process.env.LATCHKEY_URL, rootKey: process.env.LATCHKEY_ROOT_KEY });
const { keyspace } = await client.keyspaces.createKeyspace({ keyspace: { name: "consumer" } });
if (!keyspace) throw new Error("CreateKeyspace answered no keyspace");
const { secret } = await client.keys.createKey({ key: { keyspaceId: keyspace.id, credits: { remaining: 10n } } });
await client.keys.createKey({ key: { keyspaceId: keyspace.id } });
const verified = await client.verify.verifyKey({ key: secret });
const listed = [];
for await (const key of pages((request) => client.keys.listKeys(request), { keyspaceId: keyspace.id, pageSize: 1 }, (page) => page.keys)) listed.push(key.id);
let refused;
try {
  await client.keys.getKey({ id: process.env.MISSING_KEY_ID });
} catch (error) {
  refused = LatchkeyError.from(error);
}
console.log(JSON.stringify({ valid: verified.code === VerifyCode.VALID, credits: String(verified.creditsRemaining), listed: listed.length, code: refused?.code, reason: refused?.reason }));
`;

describe("@latchkey/client", () => {
  it("installs from its npm pack tarball and verifies a key over gRPC, with page iterators and typed errors", async () => {
    writeFileSync(join(project, "consumer.mjs"), consumer);
    const env = { ...process.env, LATCHKEY_URL: server.grpcUrl, LATCHKEY_ROOT_KEY: server.rootKey, MISSING_KEY_ID: newId("key", Date.now()) };
    const { stdout } = await run(process.execPath, ["consumer.mjs"], { cwd: project, env });
    expect(JSON.parse(stdout)).toEqual({ valid: true, credits: "9", listed: 2, code: 5, reason: "RESOURCE_NOT_FOUND" });
  });

  it("speaks Connect too, and its types hold for a TypeScript consumer", async () => {
    const typed = "declare const process: { env: Record<string, string | undefined> };\n" + consumer;
    writeFileSync(join(project, "consumer.ts"), typed.replace("import {", 'import type { LatchkeyClient } from "@latchkey/client";\nimport {').replace("const client = ", "const client: LatchkeyClient = ").replaceAll("process.env.LATCHKEY_URL", "process.env.LATCHKEY_URL!").replaceAll("process.env.LATCHKEY_ROOT_KEY", "process.env.LATCHKEY_ROOT_KEY!").replace("process.env.MISSING_KEY_ID", "process.env.MISSING_KEY_ID!").replace("const listed = []", "const listed: string[] = []").replace("let refused;", "let refused: LatchkeyError | undefined;"));
    writeFileSync(join(project, "tsconfig.json"), JSON.stringify({ compilerOptions: { module: "nodenext", moduleResolution: "nodenext", target: "es2022", strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ["consumer.ts"] }));
    const typeCheck = await run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], { cwd: project }).catch((error: { stdout: string }) => error);
    expect(typeCheck.stdout).toBe("");
    writeFileSync(join(project, "connect.mjs"), consumer.replace("rootKey: process.env.LATCHKEY_ROOT_KEY", 'rootKey: process.env.LATCHKEY_ROOT_KEY, transport: "connect"'));
    const env = { ...process.env, LATCHKEY_URL: server.url, LATCHKEY_ROOT_KEY: server.rootKey, MISSING_KEY_ID: newId("key", Date.now()) };
    const { stdout } = await run(process.execPath, ["connect.mjs"], { cwd: project, env });
    expect(JSON.parse(stdout)).toMatchObject({ valid: true, listed: 2 });
  });
});
