import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HealthCheckResponse_ServingStatus, Health } from "../../gen/health/v1/health_pb.js";
import { AuditService } from "../../gen/latchkey/v1/audit_pb.js";
import { KeyService, KeyStatus } from "../../gen/latchkey/v1/key_pb.js";
import { KeyspaceService } from "../../gen/latchkey/v1/keyspace_pb.js";
import { VerifyCode, VerifyService } from "../../gen/latchkey/v1/verify_pb.js";
import { expectCode } from "../support/api.js";
import { bearer } from "../support/auth.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { transportsOf } from "../support/transports.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const transports = transportsOf(() => server);

describe.each(transports)("%s against MongoDB", (_, transport) => {
  it("refuses API calls without a valid root key, and answers health without one", async () => {
    for (const interceptors of [[], [bearer("not-a-root-key")]]) {
      await expectCode(createClient(KeyspaceService, transport(interceptors)).listKeyspaces({}), Code.Unauthenticated);
      await expectCode(createClient(VerifyService, transport(interceptors)).verifyKey({ key: "x" }), Code.Unauthenticated);
    }
    expect((await createClient(Health, transport([])).check({})).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });

  it("records the caller's address and user agent in the audit log", async () => {
    const keyspaces = createClient(KeyspaceService, transport());
    const { keyspace } = await keyspaces.createKeyspace({ keyspace: { name: "audited" } });
    const audit = createClient(AuditService, transport());
    const { events } = await audit.listAuditEvents({ targetId: keyspace!.id });
    expect(events).toHaveLength(1);
    expect(events[0]!.peerAddress).toBe("127.0.0.1");
    expect(events[0]!.userAgent).not.toBe("");
  });

  it("runs a key's whole life", async () => {
    const keyspaces = createClient(KeyspaceService, transport());
    const keys = createClient(KeyService, transport());
    const { keyspace } = await keyspaces.createKeyspace({ keyspace: { name: "wire", defaultPrefix: "wire" } });
    const { key, secret } = await keys.createKey({ key: { keyspaceId: keyspace!.id, name: "first", meta: { "a.b": { $c: 1 } } } });
    expect(secret.startsWith("wire_")).toBe(true);
    expect((await keys.getKey({ id: key!.id })).key).toEqual(key);
    const verify = createClient(VerifyService, transport());
    for (let i = 0; i < 2; i++) {
      expect(await verify.verifyKey({ key: secret })).toMatchObject({ valid: true, code: VerifyCode.VALID, keyId: key!.id, meta: { "a.b": { $c: 1 } } });
      const batch = await verify.verifyKeys({ requests: [{ key: secret }, { key: "nope" }, { key: secret, permissionQuery: "x" }] });
      expect(batch.results.map((result) => result.code)).toEqual([VerifyCode.VALID, VerifyCode.NOT_FOUND, VerifyCode.INSUFFICIENT_PERMISSIONS]);
    }
    const updated = await keys.updateKey({ key: { id: key!.id, name: "renamed" }, updateMask: { paths: ["name"] } });
    expect(updated.key).toMatchObject({ name: "renamed", meta: { "a.b": { $c: 1 } } });
    const revoked = await keys.revokeKey({ id: key!.id, reason: "rotated" });
    expect(revoked.key!.status).toBe(KeyStatus.REVOKED);
    expect((await keys.listKeys({ keyspaceId: keyspace!.id })).keys.map((k) => k.id)).toEqual([key!.id]);
    await keys.deleteKey({ id: key!.id });
    await expectCode(keys.getKey({ id: key!.id }), Code.NotFound, `key ${key!.id} not found`);
    expect((await keyspaces.deleteKeyspace({ id: keyspace!.id })).deletedKeys).toBe(0n);
  });

  it("carries error codes and messages intact", async () => {
    const keys = createClient(KeyService, transport());
    await expectCode(keys.createKey({ key: { keyspaceId: "ks_bad" } }), Code.InvalidArgument, "key.keyspace_id is not a keyspace id");
    await expectCode(keys.updateKey({ key: { id: "key_x" }, updateMask: { paths: ["name"] } }), Code.InvalidArgument, "key.id is not a key id");
  });

  it("answers health checks", async () => {
    const health = createClient(Health, transport());
    expect((await health.check({})).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect((await health.check({ service: "latchkey.v1.KeyService" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    await expectCode(health.check({ service: "nope.Service" }), Code.NotFound);
    const watching = health.watch({})[Symbol.asyncIterator]();
    expect((await watching.next()).value.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    await watching.return?.();
    const unknown = (async () => {
      for await (const _ of health.watch({ service: "nope.Service" })) return;
    })();
    await expectCode(unknown, Code.NotFound, "unknown service nope.Service");
  });
});
