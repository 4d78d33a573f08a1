import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/domain/ids.js";
import { clients } from "../support/api.js";
import { docBlocks } from "../support/doc-blocks.js";
import { installClientPackage, repositoryRoot as root, run } from "../support/client-package.js";
import { startTestServer, type TestServer } from "../support/server.js";

/**
 * packages/client as a consumer gets it: `npm pack`, installed from the tarball into a project of
 * its own, then used from plain JavaScript and type-checked from TypeScript against a running service.
 */
let server: TestServer;
let consumerProject: Awaited<ReturnType<typeof installClientPackage>>;
let project: string;

beforeAll(async () => {
  server = await startTestServer();
  consumerProject = await installClientPackage({ "@connectrpc/connect-node": "2.1.1" });
  project = consumerProject.dir;
}, 180_000);

afterAll(async () => {
  await server.stop();
  consumerProject.remove();
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
    const typed = `declare const process: { env: Record<string, string | undefined> };\n${consumer}`;
    writeFileSync(
      join(project, "consumer.ts"),
      typed
        .replace("import {", 'import type { LatchkeyClient } from "@latchkey/client";\nimport {')
        .replace("const client = ", "const client: LatchkeyClient = ")
        .replaceAll("process.env.LATCHKEY_URL", "process.env.LATCHKEY_URL!")
        .replaceAll("process.env.LATCHKEY_ROOT_KEY", "process.env.LATCHKEY_ROOT_KEY!")
        .replace("process.env.MISSING_KEY_ID", "process.env.MISSING_KEY_ID!")
        .replace("const listed = []", "const listed: string[] = []")
        .replace("let refused;", "let refused: LatchkeyError | undefined;"),
    );
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { module: "nodenext", moduleResolution: "nodenext", target: "es2022", strict: true, noEmit: true, skipLibCheck: true, types: [] },
        files: ["consumer.ts"],
      }),
    );
    const typeCheck = await run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], { cwd: project }).catch(
      (error: { stdout: string }) => error,
    );
    expect(typeCheck.stdout).toBe("");
    writeFileSync(
      join(project, "connect.mjs"),
      consumer.replace("rootKey: process.env.LATCHKEY_ROOT_KEY", 'rootKey: process.env.LATCHKEY_ROOT_KEY, transport: "connect"'),
    );
    const env = { ...process.env, LATCHKEY_URL: server.url, LATCHKEY_ROOT_KEY: server.rootKey, MISSING_KEY_ID: newId("key", Date.now()) };
    const { stdout } = await run(process.execPath, ["connect.mjs"], { cwd: project, env });
    expect(JSON.parse(stdout)).toMatchObject({ valid: true, listed: 2 });
  });

  it("runs the example of docs/using-the-api.md as written, as index.js of an ES module project, against the service's gRPC port, and it type-checks as strict TypeScript", async () => {
    const [example] = docBlocks("docs/using-the-api.md", "js");
    writeFileSync(join(project, "index.js"), example!.replace("http://127.0.0.1:50051", server.grpcUrl));
    const { keyspaces, keys, verify } = clients(createConnectTransport({ baseUrl: server.url, httpVersion: "2", interceptors: [server.auth] }));
    const { keyspace } = await keyspaces.createKeyspace({ keyspace: { name: "readme example" } });
    const { secret } = await keys.createKey({ key: { keyspaceId: keyspace!.id, name: "ci", permissions: ["documents.read"], credits: { remaining: 1000n } } });
    const { key: other } = await keys.createKey({ key: { keyspaceId: keyspace!.id, name: "nightly" } });
    // As after the quick start, which verified the key once.
    await verify.verifyKey({ key: secret, permissionQuery: "documents.read" });
    const env = { ...process.env, LATCHKEY_ROOT_KEY: server.rootKey };
    const { stdout } = await run(process.execPath, ["index.js", secret], { cwd: project, env });
    const lines = stdout.trim().split("\n");
    expect(lines[0]).toBe("VALID 998n");
    expect(lines.slice(1, 3).map((line) => line.split(" ")[1])).toEqual(["ci", "nightly"]);
    expect(lines[2]).toContain(other!.id);
    expect(lines[3]).toBe("5 RESOURCE_NOT_FOUND");
    writeFileSync(join(project, "index.ts"), `declare const process: { env: Record<string, string | undefined>; argv: string[] };\n${example}`);
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { module: "nodenext", moduleResolution: "nodenext", target: "es2022", strict: true, noEmit: true, skipLibCheck: true, types: [] },
        files: ["index.ts"],
      }),
    );
    const typeCheck = await run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], { cwd: project }).catch(
      (error: { stdout: string }) => error,
    );
    expect(typeCheck.stdout).toBe("");
  });

  it("installs the latchkey command, which npx runs from the consumer's project", async () => {
    const { keyspaces, keys } = clients(createConnectTransport({ baseUrl: server.url, httpVersion: "2", interceptors: [server.auth] }));
    const { keyspace } = await keyspaces.createKeyspace({ keyspace: { name: "cli from tarball" } });
    const { secret } = await keys.createKey({ key: { keyspaceId: keyspace!.id } });
    // A consumer's shell, not this suite's npm: under `npx -p node@22 -- npm test` the inherited npm_config_package would make npx fetch node.
    const shell = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("npm_")));
    const env = { ...shell, LATCHKEY_URL: server.url, LATCHKEY_ROOT_KEY: server.rootKey, LATCHKEY_PROFILE: join(project, "no-profile.json") };
    const { stdout } = await run("npx", ["--no-install", "latchkey", "verify", secret, "--json"], { cwd: project, env });
    expect(JSON.parse(stdout)).toMatchObject({ valid: true, code: "VERIFY_CODE_VALID" });
  });
});
