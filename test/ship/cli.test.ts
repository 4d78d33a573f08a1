import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/domain/ids.js";
import { TEST_ADMIN_TOKEN } from "../support/auth.js";
import { repositoryRoot as root } from "../support/client-package.js";
import { startTestServer, type TestServer } from "../support/server.js";

/** The `latchkey` CLI (packages/client/src/cli.ts) end to end against a started service, as docs/cli.md describes it. */
const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), "latchkey-cli-"));
const profile = join(work, "config", "latchkey", "profile.json");
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

async function latchkey(args: string[], env: Record<string, string | undefined> = {}) {
  const settings: Record<string, string | undefined> = {
    ...process.env,
    LATCHKEY_URL: server.url,
    LATCHKEY_ROOT_KEY: server.rootKey,
    LATCHKEY_PROFILE: profile,
    ...env,
  };
  for (const [name, value] of Object.entries(settings)) if (value === undefined) delete settings[name];
  const outcome = await run(process.execPath, ["--import", "tsx", "packages/client/src/cli.ts", ...args], { cwd: root, env: settings, timeout: 60_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
  return outcome;
}
const json = async (args: string[], env?: Record<string, string | undefined>) => {
  const outcome = await latchkey([...args, "--json"], env);
  expect(outcome.code, outcome.stderr).toBe(0);
  return JSON.parse(outcome.stdout);
};

describe("the latchkey CLI", () => {
  it("manages keyspaces and keys and verifies, with tables for people, --json for scripts, and exit codes that say what happened", async () => {
    const { keyspace } = await json(["keyspace", "create", "--name", "cli", "--prefix", "cli"]);
    expect((await latchkey(["keyspace", "get", keyspace.id])).stdout).toMatch(/^ID +NAME +PREFIX\n\S+ +cli +cli\n$/);
    expect((await latchkey(["keyspace", "list"])).stdout).toContain(keyspace.id);
    const created = await json(["key", "create", "--keyspace", keyspace.id, "--name", "ci", "--permission", "documents.read", "--credits", "10"]);
    expect(created.secret).toMatch(/^cli_/);
    const id = created.key.id;
    const table = await latchkey(["key", "list", "--keyspace", keyspace.id]);
    expect(table.stdout.split("\n")[0]).toMatch(/^ID +NAME +START +STATUS +CREDITS +PERMISSIONS +EXPIRES$/);
    expect(table.stdout).toMatch(new RegExp(`${id} +ci +cli_\\w* +ACTIVE +10 +documents.read`));

    const valid = await latchkey(["verify", created.secret, "--permission-query", "documents.read"]);
    expect(valid).toMatchObject({ code: 0 });
    expect(valid.stdout).toMatch(/true +VALID/);
    expect(await latchkey(["verify", created.secret, "--permission-query", "admin"])).toMatchObject({ code: 1 });
    expect((await latchkey(["verify", "cli_madeup"])).code).toBe(1);

    expect((await json(["key", "update", id, "--name", "nightly"])).key.name).toBe("nightly");
    expect((await json(["key", "credits", id, "--add", "5"])).key.credits.remaining).toBe("14");
    expect((await json(["key", "get", id])).key.name).toBe("nightly");
    const rerolled = await json(["key", "reroll", id]);
    expect(rerolled.secret).toMatch(/^cli_/);
    expect((await latchkey(["verify", rerolled.secret])).code).toBe(0);
    expect((await json(["key", "revoke", id, "--reason", "leaked"])).key.status).toBe("KEY_STATUS_REVOKED");
    expect((await latchkey(["verify", rerolled.secret])).code).toBe(1);

    // Four verifications named the key: VALID, INSUFFICIENT_PERMISSIONS, VALID after the reroll, REVOKED.
    // They are counted within one ANALYTICS_FLUSH_MS (5 s); the margin is for a busy machine.
    const deadline = Date.now() + 5_000 + 15_000;
    let usage = await json(["analytics", "usage", id]);
    while (Number(usage.total ?? 0) < 4 && Date.now() < deadline) usage = await json(["analytics", "usage", id]);
    expect(usage).toMatchObject({
      total: "4",
      valid: "2",
      outcomes: { VERIFY_CODE_VALID: "2", VERIFY_CODE_INSUFFICIENT_PERMISSIONS: "1", VERIFY_CODE_REVOKED: "1" },
    });
    const usageTable = await latchkey(["analytics", "usage", id]);
    expect(usageTable.stdout.split("\n")[0]).toMatch(/^DAY +TOTAL +VALID +REFUSED +CREDITS$/);
    expect(usageTable.stdout).toMatch(/\d{4}-\d\d-\d\d +4 +2 +INSUFFICIENT_PERMISSIONS 1 REVOKED 1 +2\n/);
    const byDay = await json(["analytics", "--keyspace", keyspace.id, "--days", "2"]);
    expect(byDay.buckets.reduce((sum: number, bucket: { total: string }) => sum + Number(bucket.total), 0)).toBe(4);

    const missing = await latchkey(["key", "get", newId("key", Date.now())]);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/^NotFound \(RESOURCE_NOT_FOUND\)/);
  }, 180_000);

  it("creates workspaces with the admin token, and root keys, and reads the audit log", async () => {
    const workspace = await json(["workspace", "create", "--name", "cli tenant"], { LATCHKEY_ADMIN_TOKEN: TEST_ADMIN_TOKEN });
    expect(workspace.rootKeySecret).toMatch(/^root_/);
    const created = await json(["root-key", "create", "--name", "reader", "--permission", "key.read"], { LATCHKEY_ROOT_KEY: workspace.rootKeySecret });
    expect((await latchkey(["root-key", "list"], { LATCHKEY_ROOT_KEY: workspace.rootKeySecret })).stdout).toContain(created.rootKey.id);
    expect((await latchkey(["keyspace", "list"], { LATCHKEY_ROOT_KEY: created.secret })).code).toBe(3);
    await json(["root-key", "revoke", created.rootKey.id], { LATCHKEY_ROOT_KEY: workspace.rootKeySecret });
    expect((await latchkey(["keyspace", "list"], { LATCHKEY_ROOT_KEY: created.secret })).code).toBe(3);
    const audit = await latchkey(["audit", "--action", "root_key.create"], { LATCHKEY_ROOT_KEY: workspace.rootKeySecret });
    expect(audit.stdout).toMatch(/root_key\.create +\S+ +ok/);
    expect(audit.stdout).toContain(created.rootKey.id);
  }, 120_000);

  it("answers usage errors with 2, refused credentials with 3 and an unreachable service with 5", async () => {
    expect((await latchkey(["frobnicate"])).code).toBe(2);
    expect((await latchkey(["key", "create"])).code).toBe(2);
    expect((await latchkey(["key", "credits", "key_x", "--add", "many"])).code).toBe(2);
    expect((await latchkey(["keyspace", "list"], { LATCHKEY_ROOT_KEY: "root_unknown" })).code).toBe(3);
    const closed = createServer().listen(0, "127.0.0.1");
    await new Promise((listening) => closed.once("listening", listening));
    const port = (closed.address() as { port: number }).port;
    await new Promise((done) => closed.close(done));
    expect((await latchkey(["keyspace", "list"], { LATCHKEY_URL: `http://127.0.0.1:${port}` })).code).toBe(5);
  }, 120_000);

  it("saves the address and root key to a profile only its owner can read, uses it, and refuses it once others can read it", async () => {
    expect((await latchkey(["profile", "save"])).code).toBe(0);
    expect(statSync(profile).mode & 0o777).toBe(0o600);
    const fromProfile = await latchkey(["keyspace", "list"], { LATCHKEY_URL: undefined, LATCHKEY_ROOT_KEY: undefined });
    expect(fromProfile.code, fromProfile.stderr).toBe(0);
    chmodSync(profile, 0o644);
    const refused = await latchkey(["keyspace", "list"], { LATCHKEY_URL: undefined, LATCHKEY_ROOT_KEY: undefined });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("can be read by others than its owner");
  }, 120_000);
});
