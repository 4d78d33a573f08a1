import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { DigestEncoding } from "../../../gen/latchkey/v1/key_pb.js";
import { MemoryStore } from "../../../src/store/memory.js";
import { TEST_KEY_ENCRYPTION_KEYS } from "../../support/auth.js";
import { expectCode, type TestApi, testApi } from "../../support/api.js";

const recoverableKeyspace = async (api: TestApi) =>
  (await api.keyspaces.createKeyspace({ keyspace: { name: "recoverable", defaultPrefix: "rk", recoverable: true } })).keyspace!;

describe("recoverable keys", () => {
  it("OK: GetKey and ListKeys with decrypt show the secret of a key in a recoverable keyspace, and each such read is audited", async () => {
    const api = testApi();
    const keyspace = await recoverableKeyspace(api);
    expect(keyspace.recoverable).toBe(true);
    const { key, secret } = await api.keys.createKey({ key: { keyspaceId: keyspace.id } });
    expect(key).toMatchObject({ recoverable: true, plaintext: "" });
    expect((await api.keys.getKey({ id: key!.id })).key!.plaintext).toBe("");
    expect((await api.keys.getKey({ id: key!.id, decrypt: true })).key!.plaintext).toBe(secret);
    expect((await api.keys.listKeys({ keyspaceId: keyspace.id, decrypt: true })).keys.map((listed) => listed.plaintext)).toEqual([secret]);
    const { events } = await api.audit.listAuditEvents({ action: "key.decrypt" });
    expect(events.map((event) => event.targetIds)).toEqual(expect.arrayContaining([[key!.id], [keyspace.id]]));
    expect(JSON.stringify(events.map((event) => event.summary))).not.toContain(secret);
  });

  it("OK: a rerolled key shows its new secret, a key imported by plaintext is recoverable and one imported by digest is not", async () => {
    const api = testApi();
    const keyspace = await recoverableKeyspace(api);
    const { key } = await api.keys.createKey({ key: { keyspaceId: keyspace.id } });
    const rerolled = await api.keys.rerollKey({ id: key!.id });
    expect((await api.keys.getKey({ id: key!.id, decrypt: true })).key!.plaintext).toBe(rerolled.secret);
    const { results } = await api.keys.importKeys({
      keyspaceId: keyspace.id,
      keys: [
        { secret: { case: "plaintext", value: "sk_live_recoverable_import" } },
        { secret: { case: "digest", value: { value: "ab".repeat(32), encoding: DigestEncoding.HEX } } },
      ],
    });
    expect(results.map((result) => result.key!.recoverable)).toEqual([true, false]);
    expect((await api.keys.getKey({ id: results[0]!.key!.id, decrypt: true })).key!.plaintext).toBe("sk_live_recoverable_import");
    expect((await api.keys.getKey({ id: results[1]!.key!.id, decrypt: true })).key!.plaintext).toBe("");
  });

  it("OK: keys of a keyspace that is not recoverable have nothing to show; making it recoverable applies to new keys", async () => {
    const api = testApi();
    const { keyspace } = await api.keyspaces.createKeyspace({ keyspace: { name: "plain" } });
    const before = await api.keys.createKey({ key: { keyspaceId: keyspace!.id } });
    expect((await api.keys.getKey({ id: before.key!.id, decrypt: true })).key).toMatchObject({ recoverable: false, plaintext: "" });
    await api.keyspaces.updateKeyspace({ keyspace: { id: keyspace!.id, recoverable: true }, updateMask: { paths: ["recoverable"] } });
    const after = await api.keys.createKey({ key: { keyspaceId: keyspace!.id } });
    expect((await api.keys.getKey({ id: after.key!.id, decrypt: true })).key!.plaintext).toBe(after.secret);
  });

  it("OK: after a rotation (a new key-encryption key first), old secrets still open and new ones use the new key", async () => {
    const store = new MemoryStore();
    const before = testApi(store, {}, [TEST_KEY_ENCRYPTION_KEYS[1]!]);
    const keyspace = await recoverableKeyspace(before);
    const old = await before.keys.createKey({ key: { keyspaceId: keyspace.id } });
    const rotated = testApi(store, {}, TEST_KEY_ENCRYPTION_KEYS);
    const asBefore = rotated.as((await before.workspace()).secret);
    expect((await asBefore.keys.getKey({ id: old.key!.id, decrypt: true })).key!.plaintext).toBe(old.secret);
    const fresh = await asBefore.keys.createKey({ key: { keyspaceId: keyspace.id } });
    expect((await store.getKey(fresh.key!.id))!.sealedSecret!.kekId).toBe(TEST_KEY_ENCRYPTION_KEYS[0]!.id);
    const retired = testApi(store, {}, [TEST_KEY_ENCRYPTION_KEYS[0]!]).as((await before.workspace()).secret);
    const error = await expectCode(retired.keys.getKey({ id: old.key!.id, decrypt: true }), Code.FailedPrecondition);
    expect(error.findDetails(ErrorInfoSchema)).toMatchObject([{ reason: "ENCRYPTION_UNAVAILABLE" }]);
  });

  it("OK: a retried CreateKey (same request_id) of a recoverable key returns its secret again", async () => {
    const api = testApi();
    const keyspace = await recoverableKeyspace(api);
    const request = { key: { keyspaceId: keyspace.id }, requestId: "recoverable-retry" };
    const first = await api.keys.createKey(request);
    expect(await api.keys.createKey(request)).toMatchObject({ key: { id: first.key!.id }, secret: first.secret, secretWithheld: false });
  });

  it("PERMISSION_DENIED: decrypt without key.decrypt, even with key.read; the attempt is audited", async () => {
    const api = testApi();
    const keyspace = await recoverableKeyspace(api);
    const { key } = await api.keys.createKey({ key: { keyspaceId: keyspace.id } });
    const { secret } = await api.rootKeys.createRootKey({ rootKey: { name: "reader", permissions: ["key.read"] } });
    const reader = api.as(secret);
    expect((await reader.keys.getKey({ id: key!.id })).key!.id).toBe(key!.id);
    await expectCode(reader.keys.getKey({ id: key!.id, decrypt: true }), Code.PermissionDenied, "this root key lacks the permission key.decrypt");
    await expectCode(reader.keys.listKeys({ keyspaceId: keyspace.id, decrypt: true }), Code.PermissionDenied);
    const { events } = await api.audit.listAuditEvents({ action: "key.decrypt" });
    // Repeated failures of one actor and action are coalesced: the first is written.
    expect(events.map((event) => event.outcome)).toEqual(["permission_denied"]);
  });

  it("FAILED_PRECONDITION: a key of a recoverable keyspace created where no KEY_ENCRYPTION_KEYS are configured writes nothing: no key, identity or permission", async () => {
    const store = new MemoryStore();
    const sealing = testApi(store);
    const keyspace = await recoverableKeyspace(sealing);
    const unsealing = testApi(store, {}, []).as((await sealing.workspace()).secret);
    const error = await expectCode(
      unsealing.keys.createKey({ key: { keyspaceId: keyspace.id, permissions: ["ghost.read"], externalId: "user_9" }, createIdentity: true }),
      Code.FailedPrecondition,
    );
    expect(error.findDetails(ErrorInfoSchema)).toMatchObject([{ reason: "ENCRYPTION_UNAVAILABLE" }]);
    expect((await sealing.keys.listKeys({ keyspaceId: keyspace.id })).keys).toEqual([]);
    expect((await sealing.rbac.listPermissions({})).permissions).toEqual([]);
    await expectCode(sealing.identities.getIdentity({ externalId: "user_9" }), Code.NotFound);
  });

  it("FAILED_PRECONDITION: a recoverable keyspace where no KEY_ENCRYPTION_KEYS are configured (ENCRYPTION_UNAVAILABLE)", async () => {
    const api = testApi(new MemoryStore(), {}, []);
    const error = await expectCode(api.keyspaces.createKeyspace({ keyspace: { name: "r", recoverable: true } }), Code.FailedPrecondition);
    expect(error.findDetails(ErrorInfoSchema)).toMatchObject([{ reason: "ENCRYPTION_UNAVAILABLE" }]);
    const { keyspace } = await api.keyspaces.createKeyspace({ keyspace: { name: "plain" } });
    await expectCode(
      api.keyspaces.updateKeyspace({ keyspace: { id: keyspace!.id, recoverable: true }, updateMask: { paths: ["recoverable"] } }),
      Code.FailedPrecondition,
    );
  });
});
