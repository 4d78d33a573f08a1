import { createHash, randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";

/** `buf curl` with no proto files at hand: everything it knows comes from server reflection. */
const buf = fileURLToPath(new URL("../../node_modules/.bin/buf", import.meta.url));

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

/** Sends the server's root key; reflection and health need none, so `anonymous` calls leave it out. */
async function curl(...args: string[]) {
  return curlAs(["-H", `Authorization: Bearer ${server.rootKey}`], ...args);
}

const anonymous = (...args: string[]) => curlAs([], ...args);

async function curlAs(auth: string[], ...args: string[]) {
  try {
    const { stdout } = await promisify(execFile)(buf, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...auth, ...args], {
      cwd: "/",
      timeout: 20_000,
    });
    return { exitCode: 0, stdout, stderr: "" };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { exitCode: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe.each([
  ["the Connect router", () => server.url],
  ["the native grpc-js port", () => server.grpcUrl],
])("buf curl through reflection, against %s", (_, url) => {
  it("lists the services", async () => {
    const { stdout } = await anonymous("--list-services", url());
    expect(stdout.trim().split("\n").sort()).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "latchkey.v1.AnalyticsService",
      "latchkey.v1.AuditService",
      "latchkey.v1.IdentityService",
      "latchkey.v1.KeyService",
      "latchkey.v1.KeyspaceService",
      "latchkey.v1.RatelimitService",
      "latchkey.v1.RbacService",
      "latchkey.v1.RootKeyService",
      "latchkey.v1.VerifyService",
      "latchkey.v1.WorkspaceService",
    ]);
  });

  it("lists every method", async () => {
    const { stdout } = await anonymous("--list-methods", url());
    const methods = stdout.trim().split("\n");
    for (const method of ["CreateKey", "GetKey", "ListKeys", "UpdateKey", "RevokeKey", "DeleteKey", "UpdateCredits", "RerollKey", "WhoAmI", "ImportKeys"]) {
      expect(methods).toContain(`latchkey.v1.KeyService/${method}`);
    }
    for (const method of ["CreateKeyspace", "GetKeyspace", "ListKeyspaces", "UpdateKeyspace", "DeleteKeyspace"]) {
      expect(methods).toContain(`latchkey.v1.KeyspaceService/${method}`);
    }
  });

  it("calls methods with JSON", async () => {
    const created = await curl("-d", '{"keyspace":{"name":"curl"}}', `${url()}/latchkey.v1.KeyspaceService/CreateKeyspace`);
    const { keyspace } = JSON.parse(created.stdout);
    const key = await curl("-d", JSON.stringify({ key: { keyspaceId: keyspace.id, name: "from curl" } }), `${url()}/latchkey.v1.KeyService/CreateKey`);
    expect(JSON.parse(key.stdout).key).toMatchObject({ name: "from curl", status: "KEY_STATUS_ACTIVE" });
    const keyId = JSON.parse(key.stdout).key.id;
    const limited = await curl(
      "-d",
      JSON.stringify({ namespace: "logins", identifier: keyId, limit: "5", durationMs: "60000" }),
      `${url()}/latchkey.v1.RatelimitService/Limit`,
    );
    expect(JSON.parse(limited.stdout)).toMatchObject({ success: true, limit: "5", remaining: "4", durationMs: "60000" });
    const credited = await curl(
      "-d",
      JSON.stringify({ keyId, operation: "CREDIT_OPERATION_SET", value: "500" }),
      `${url()}/latchkey.v1.KeyService/UpdateCredits`,
    );
    expect(JSON.parse(credited.stdout).key.credits).toEqual({ remaining: "500" });
    const rerolled = await curl("-d", JSON.stringify({ id: keyId, gracePeriodMs: "3600000" }), `${url()}/latchkey.v1.KeyService/RerollKey`);
    expect(JSON.parse(rerolled.stdout)).toMatchObject({ key: { id: keyId, previousSecret: { expiresAt: expect.any(String) } }, secret: expect.any(String) });
    const imports = {
      keyspaceId: keyspace.id,
      keys: [
        { plaintext: `sk_live_${randomBytes(16).toString("hex")}`, key: { name: "migrated" } },
        { digest: { value: createHash("sha256").update(randomBytes(16)).digest("base64"), encoding: "DIGEST_ENCODING_BASE64" } },
      ],
    };
    const imported = await curl("-d", JSON.stringify(imports), `${url()}/latchkey.v1.KeyService/ImportKeys`);
    expect(JSON.parse(imported.stdout).results).toMatchObject([{ key: { name: "migrated", prefix: "sk" } }, { key: { id: expect.any(String) } }]);
    const recoverable = await curl("-d", '{"keyspace":{"name":"kept","recoverable":true}}', `${url()}/latchkey.v1.KeyspaceService/CreateKeyspace`);
    const kept = await curl(
      "-d",
      JSON.stringify({ key: { keyspaceId: JSON.parse(recoverable.stdout).keyspace.id } }),
      `${url()}/latchkey.v1.KeyService/CreateKey`,
    );
    const { key: keptKey, secret } = JSON.parse(kept.stdout);
    const decrypted = await curl("-d", JSON.stringify({ id: keptKey.id, decrypt: true }), `${url()}/latchkey.v1.KeyService/GetKey`);
    expect(JSON.parse(decrypted.stdout).key).toMatchObject({ plaintext: secret, recoverable: true });
    const whoAmI = await curl("-d", JSON.stringify({ key: secret }), `${url()}/latchkey.v1.KeyService/WhoAmI`);
    expect(JSON.parse(whoAmI.stdout).key.id).toBe(keptKey.id);
    const health = await anonymous(`${url()}/grpc.health.v1.Health/Check`);
    expect(JSON.parse(health.stdout)).toEqual({ status: "SERVING" });
  });

  it("needs the root key for the API", async () => {
    const { exitCode, stderr } = await anonymous("-d", "{}", `${url()}/latchkey.v1.KeyspaceService/ListKeyspaces`);
    expect(exitCode).not.toBe(0);
    expect(stderr).toContain("unauthenticated");
  });

  it("shows the error code and message", async () => {
    const { exitCode, stderr } = await curl("-d", '{"id":"key_123"}', `${url()}/latchkey.v1.KeyService/GetKey`);
    expect(exitCode).not.toBe(0);
    expect(stderr).toContain("invalid_argument");
    expect(stderr).toContain("id is not a key id");
  });
});
