import { randomBytes } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdentityService } from "../../gen/latchkey/v1/identity_pb.js";
import { KeyService } from "../../gen/latchkey/v1/key_pb.js";
import { KeyspaceService } from "../../gen/latchkey/v1/keyspace_pb.js";
import { RbacService } from "../../gen/latchkey/v1/rbac_pb.js";
import { RootKeyService } from "../../gen/latchkey/v1/root_key_pb.js";
import { VerifyCode, VerifyService } from "../../gen/latchkey/v1/verify_pb.js";
import type { RandomSource } from "../../src/domain/base58.js";
import { issueSecret } from "../../src/domain/secret.js";
import { bearer } from "../support/auth.js";
import { startTestServer, type TestServer } from "../support/server.js";

/** Two instances on one MongoDB: a change made through one reaches the other's cache within a second. */
let writer: TestServer;
let reader: TestServer;
beforeAll(async () => {
  writer = await startTestServer();
  reader = await startTestServer({ databaseName: writer.databaseName, workspace: writer });
});
afterAll(async () => {
  await writer.stop();
  await reader.stop();
});

const clients = (server: TestServer) => {
  const transport = createGrpcTransport({ baseUrl: server.url, interceptors: [server.auth] });
  return {
    keyspaces: createClient(KeyspaceService, transport),
    keys: createClient(KeyService, transport),
    verify: createClient(VerifyService, transport),
    rbac: createClient(RbacService, transport),
    identities: createClient(IdentityService, transport),
    rootKeys: createClient(RootKeyService, transport),
  };
};

/** Verifies on the reader until the verdict is the expected one; returns how long that took. */
async function untilVerdict(secret: string, expected: VerifyCode, check: object = {}): Promise<number> {
  const verify = clients(reader).verify;
  const started = Date.now();
  while (Date.now() - started < 3000) {
    if ((await verify.verifyKey({ key: secret, ...check })).code === expected) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no ${VerifyCode[expected]} within 3 seconds`);
}

describe("cache invalidation across instances", () => {
  it("revocation, disabling, permission changes, deletion, a reroll and keyspace deletion reach the other instance within a second", async () => {
    const a = clients(writer);
    const b = clients(reader);
    const { keyspace } = await a.keyspaces.createKeyspace({ keyspace: { name: "shared" } });
    const make = async (key: object = {}) => await a.keys.createKey({ key: { keyspaceId: keyspace!.id, ...key } });
    const delays: number[] = [];

    const revoked = await make();
    expect((await b.verify.verifyKey({ key: revoked.secret })).code).toBe(VerifyCode.VALID);
    await a.keys.revokeKey({ id: revoked.key!.id });
    delays.push(await untilVerdict(revoked.secret, VerifyCode.REVOKED));

    const disabled = await make();
    await b.verify.verifyKey({ key: disabled.secret });
    await a.keys.updateKey({ key: { id: disabled.key!.id, enabled: false }, updateMask: { paths: ["enabled"] } });
    delays.push(await untilVerdict(disabled.secret, VerifyCode.DISABLED));

    const granted = await make({ permissions: ["a"] });
    expect((await b.verify.verifyKey({ key: granted.secret, permissionQuery: "b" })).code).toBe(VerifyCode.INSUFFICIENT_PERMISSIONS);
    await a.keys.updateKey({ key: { id: granted.key!.id, permissions: ["b"] }, updateMask: { paths: ["permissions"] } });
    delays.push(await untilVerdict(granted.secret, VerifyCode.VALID, { permissionQuery: "b" }));

    const deleted = await make();
    await b.verify.verifyKey({ key: deleted.secret });
    await a.keys.deleteKey({ id: deleted.key!.id, permanent: true });
    delays.push(await untilVerdict(deleted.secret, VerifyCode.NOT_FOUND));

    const rerolled = await make();
    await b.verify.verifyKey({ key: rerolled.secret });
    const { secret: newSecret } = await a.keys.rerollKey({ id: rerolled.key!.id });
    delays.push(await untilVerdict(rerolled.secret, VerifyCode.EXPIRED));
    expect((await b.verify.verifyKey({ key: newSecret })).code).toBe(VerifyCode.VALID);

    const orphaned = await make();
    await b.verify.verifyKey({ key: orphaned.secret });
    await a.keyspaces.deleteKeyspace({ id: keyspace!.id, force: true });
    delays.push(await untilVerdict(orphaned.secret, VerifyCode.NOT_FOUND));

    for (const delay of delays) expect(delay).toBeLessThan(1000);
  });

  it("every change to a rerolled key reaches its grace secret on both instances: at once on the writer, within a second on the other", async () => {
    const a = clients(writer);
    const b = clients(reader);
    const { keyspace } = await a.keyspaces.createKeyspace({ keyspace: { name: "grace" } });
    const cases: [string, (id: string) => Promise<unknown>, VerifyCode, object][] = [
      ["revoke", (id) => a.keys.revokeKey({ id }), VerifyCode.REVOKED, {}],
      ["disable", (id) => a.keys.updateKey({ key: { id, enabled: false }, updateMask: { paths: ["enabled"] } }), VerifyCode.DISABLED, {}],
      [
        "permission removal",
        (id) => a.keys.removeKeyPermissions({ keyId: id, names: ["docs.read"] }),
        VerifyCode.INSUFFICIENT_PERMISSIONS,
        { permissionQuery: "docs.read" },
      ],
      ["permanent delete", (id) => a.keys.deleteKey({ id, permanent: true }), VerifyCode.NOT_FOUND, {}],
      ["second reroll with grace 0", (id) => a.keys.rerollKey({ id }), VerifyCode.NOT_FOUND, {}],
    ];
    const delays: number[] = [];
    for (const [name, change, expected, check] of cases) {
      const created = await a.keys.createKey({ key: { keyspaceId: keyspace!.id, permissions: ["docs.read"], name } });
      await a.keys.rerollKey({ id: created.key!.id, gracePeriodMs: 3_600_000n });
      for (const instance of [a, b])
        expect((await instance.verify.verifyKey({ key: created.secret, permissionQuery: "docs.read" })).code).toBe(VerifyCode.VALID);
      await change(created.key!.id);
      expect((await a.verify.verifyKey({ key: created.secret, ...check })).code, name).toBe(expected);
      delays.push(await untilVerdict(created.secret, expected, check));
    }
    for (const delay of delays) expect(delay).toBeLessThan(1000);
  });

  it("a role's new permissions, an identity's new limits and a root key's revocation reach the other instance within a second", async () => {
    const a = clients(writer);
    const b = clients(reader);
    const { keyspace } = await a.keyspaces.createKeyspace({ keyspace: { name: "rbac" } });
    const { role } = await a.rbac.createRole({ role: { name: "shared-reader", permissions: ["docs.read"] } });
    await a.identities.createIdentity({ identity: { externalId: "org_shared" } });
    const { secret } = await a.keys.createKey({ key: { keyspaceId: keyspace!.id, roles: ["shared-reader"], externalId: "org_shared" } });
    expect((await b.verify.verifyKey({ key: secret, permissionQuery: "docs.write" })).code).toBe(VerifyCode.INSUFFICIENT_PERMISSIONS);
    const delays: number[] = [];

    await a.rbac.updateRole({ role: { id: role!.id, permissions: ["docs.read", "docs.write"] }, updateMask: { paths: ["permissions"] } });
    delays.push(await untilVerdict(secret, VerifyCode.VALID, { permissionQuery: "docs.write" }));

    const { identity } = await a.identities.getIdentity({ externalId: "org_shared" });
    await a.identities.updateIdentity({
      identity: { id: identity!.id, rateLimits: [{ name: "tiny", limit: 1n, durationMs: 60_000n, autoApply: true }] },
      updateMask: { paths: ["rate_limits"] },
    });
    delays.push(await untilVerdict(secret, VerifyCode.RATE_LIMITED));

    const { rootKey, secret: rootSecret } = await a.rootKeys.createRootKey({ rootKey: { name: "short-lived", permissions: ["keyspace.read"] } });
    const viaReader = createClient(KeyspaceService, createGrpcTransport({ baseUrl: reader.url, interceptors: [bearer(rootSecret)] }));
    await viaReader.listKeyspaces({});
    await a.rootKeys.revokeRootKey({ id: rootKey!.id });
    const started = Date.now();
    while (
      await viaReader.listKeyspaces({}).then(
        () => true,
        () => false,
      )
    ) {
      expect(Date.now() - started).toBeLessThan(1500);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    delays.push(Date.now() - started);

    for (const delay of delays.slice(0, 2)) expect(delay).toBeLessThan(1000);
    expect(delays[2]).toBeLessThanOrEqual(1000 + 100);
  });

  it("a key created on one instance verifies on the other, even after the other cached its digest as unknown", async () => {
    const sameBytes: RandomSource = (size) => new Uint8Array(size).fill(5);
    const creator = await startTestServer({ random: sameBytes });
    const verifier = await startTestServer({ databaseName: creator.databaseName, workspace: creator });
    try {
      const predicted = issueSecret("lk", 16, 4, sameBytes).secret;
      const verify = clients(verifier).verify;
      expect((await verify.verifyKey({ key: predicted })).code).toBe(VerifyCode.NOT_FOUND);
      const a = clients(creator);
      const { keyspace } = await a.keyspaces.createKeyspace({ keyspace: { name: "fresh" } });
      const { secret } = await a.keys.createKey({ key: { keyspaceId: keyspace!.id } });
      expect(secret).toBe(predicted);
      const started = Date.now();
      while ((await verify.verifyKey({ key: secret })).code !== VerifyCode.VALID) {
        expect(Date.now() - started).toBeLessThan(1000);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await creator.stop();
      await verifier.stop();
    }
  });
});

describe("the known-digest filter across instances", () => {
  it("a key or root key created on one instance works on the other at its first use, while made-up secrets cost no read", async () => {
    const writes = clients(writer);
    const { keyspace } = await writes.keyspaces.createKeyspace({ keyspace: { name: "first use" } });
    await untilFilterBuilt(reader);
    for (let round = 0; round < 5; round++) {
      const { secret } = await writes.keys.createKey({ key: { keyspaceId: keyspace!.id } });
      expect((await clients(reader).verify.verifyKey({ key: secret })).code).toBe(VerifyCode.VALID);
      const { secret: rootSecret } = await writes.rootKeys.createRootKey({ rootKey: { name: `fresh ${round}`, permissions: ["keyspace.read"] } });
      const asFresh = createClient(KeyspaceService, createGrpcTransport({ baseUrl: reader.url, interceptors: [bearer(rootSecret)] }));
      expect((await asFresh.getKeyspace({ id: keyspace!.id })).keyspace?.id).toBe(keyspace!.id);
    }
    const readsBefore = await keyReads(reader);
    const { results } = await clients(reader).verify.verifyKeys({ requests: Array.from({ length: 500 }, () => ({ key: issueSecret("lk", 16, 4).secret })) });
    expect(results.every((result) => result.code === VerifyCode.NOT_FOUND)).toBe(true);
    // A false positive of the filter may cost a read; 500 made-up secrets cost 500 without it.
    expect((await keyReads(reader)) - readsBefore).toBeLessThan(5);
  });

  it("a key imported on one instance, in a foreign format, verifies on the other within a second; made-up ones of that format cost no read", async () => {
    const writes = clients(writer);
    const { keyspace } = await writes.keyspaces.createKeyspace({ keyspace: { name: "imported" } });
    await untilFilterBuilt(reader);
    const secret = `sk_live_${randomBytes(24).toString("hex")}`;
    await writes.keys.importKeys({ keyspaceId: keyspace!.id, keys: [{ secret: { case: "plaintext", value: secret } }] });
    expect(await untilVerdict(secret, VerifyCode.VALID)).toBeLessThan(1000);
    const readsBefore = await keyReads(reader);
    const madeUp = Array.from({ length: 500 }, () => ({ key: `sk_live_${randomBytes(24).toString("hex")}` }));
    const { results } = await clients(reader).verify.verifyKeys({ requests: madeUp });
    expect(results.every((result) => result.code === VerifyCode.NOT_FOUND)).toBe(true);
    expect((await keyReads(reader)) - readsBefore).toBeLessThan(5);
  });
});

/** Digest lookups the server made in the store, from its metrics. */
async function keyReads(server: TestServer): Promise<number> {
  const text = await (await fetch(server.metricsUrl)).text();
  return Number(/^latchkey_store_call_duration_seconds_count\{method="findKeyByHash",outcome="ok"\} (\d+)/m.exec(text)?.[1] ?? 0);
}

async function untilFilterBuilt(server: TestServer) {
  const started = Date.now();
  while (!(await (await fetch(server.metricsUrl)).text()).includes("latchkey_known_digest_filter_ready 1")) {
    if (Date.now() - started > 3000) throw new Error("the known-digest filter was not built within 3 seconds");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("last_used_at", () => {
  it("is written when the instance shuts down, without a write per verification", async () => {
    const server = await startTestServer();
    const { keyspaces, keys, verify } = clients(server);
    const { keyspace } = await keyspaces.createKeyspace({ keyspace: { name: "usage" } });
    const { key, secret } = await keys.createKey({ key: { keyspaceId: keyspace!.id } });
    const before = Date.now();
    for (let i = 0; i < 20; i++) await verify.verifyKey({ key: secret });
    await server.close();
    const stored = await server.store.getKey(key!.id);
    await server.store.close();
    expect(stored!.lastUsedAt!.getTime()).toBeGreaterThanOrEqual(before);
  });
});
