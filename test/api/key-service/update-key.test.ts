import { Code } from "@connectrpc/connect";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { KeyStatus, KeyType, type RateLimitAlgorithm } from "../../../gen/latchkey/v1/key_pb.js";
import { newId } from "../../../src/domain/ids.js";
import { createKeyspace, expectCode, testApi, type TestApi, withoutWindowUse } from "../../support/api.js";

async function keyWithEverything(api: TestApi) {
  const keyspace = await createKeyspace(api);
  const { key } = await api.keys.createKey({
    key: {
      keyspaceId: keyspace.id,
      name: "ci",
      description: "nightly",
      meta: { a: 1 },
      permissions: ["documents.read"],
      rateLimits: [{ name: "requests", limit: 5n, durationMs: 1000n }],
    },
  });
  return key!;
}

describe("UpdateKey", () => {
  it("OK: patches the masked fields and leaves the rest alone", async () => {
    const api = testApi();
    const key = await keyWithEverything(api);
    api.clock.now += 1000;
    const { key: updated } = await api.keys.updateKey({
      key: { id: key.id, name: "renamed", description: "ignored", permissions: ["documents.write"] },
      updateMask: { paths: ["name", "permissions"] },
    });
    expect(updated).toMatchObject({
      name: "renamed",
      description: "nightly",
      meta: { a: 1 },
      permissions: ["documents.write"],
      rateLimits: key.rateLimits,
      start: key.start,
    });
    expect(updated!.updatedAt!.seconds - key.updatedAt!.seconds).toBe(1n);
    expect(withoutWindowUse((await api.keys.getKey({ id: key.id })).key!)).toEqual(updated);
  });

  it("OK: a masked field left unset is cleared, and enabled goes back to true", async () => {
    const api = testApi();
    const key = await keyWithEverything(api);
    await api.keys.updateKey({ key: { id: key.id, enabled: false }, updateMask: { paths: ["enabled"] } });
    const { key: updated } = await api.keys.updateKey({
      key: { id: key.id },
      updateMask: { paths: ["meta", "rate_limits", "enabled", "description"] },
    });
    expect(updated).toMatchObject({ rateLimits: [], enabled: true, description: "", status: KeyStatus.ACTIVE });
    expect(updated!.meta).toBeUndefined();
  });

  it("OK: disables and re-enables", async () => {
    const api = testApi();
    const key = await keyWithEverything(api);
    const off = await api.keys.updateKey({ key: { id: key.id, enabled: false }, updateMask: { paths: ["enabled"] } });
    expect(off.key!.status).toBe(KeyStatus.DISABLED);
    const on = await api.keys.updateKey({ key: { id: key.id, enabled: true }, updateMask: { paths: ["enabled"] } });
    expect(on.key!.status).toBe(KeyStatus.ACTIVE);
  });

  it("INVALID_ARGUMENT: mask problems, immutable fields and bad values, with nothing written", async () => {
    const api = testApi();
    const key = await keyWithEverything(api);
    const update = (patch: object, paths: string[]) => api.keys.updateKey({ key: { id: key.id, ...patch }, updateMask: { paths } });
    await expectCode(api.keys.updateKey({ updateMask: { paths: ["name"] } }), Code.InvalidArgument, "key must be set");
    await expectCode(api.keys.updateKey({ key: {}, updateMask: { paths: ["name"] } }), Code.InvalidArgument, "key.id must not be empty");
    await expectCode(update({ name: "x" }, []), Code.InvalidArgument, "update_mask must name at least one field");
    await expectCode(update({}, ["nmae"]), Code.InvalidArgument, "update_mask.paths[0] is not an updatable field");
    for (const immutable of ["id", "keyspace_id", "prefix", "start", "revoked_at", "created_at", "status", "meta.team"]) {
      await expectCode(update({}, ["name", immutable]), Code.InvalidArgument, "update_mask.paths[1]");
    }
    await expectCode(update({ expiresAt: timestampFromMs(api.clock.now - 1) }, ["expires_at"]), Code.InvalidArgument, "key.expires_at");
    await expectCode(update({ credits: { remaining: -3n } }, ["credits"]), Code.InvalidArgument, "key.credits.remaining");
    await expectCode(update({ type: KeyType.MARKETPLACE_SUBSCRIPTION }, ["type"]), Code.InvalidArgument, "key.subscription_id is required");
    await expectCode(update({ permissions: ["ok", "not ok"] }, ["permissions"]), Code.InvalidArgument, "key.permissions[1]");
    expect(withoutWindowUse((await api.keys.getKey({ id: key.id })).key!)).toEqual(key);
  });

  it("OK: a field the mask leaves out is ignored whatever it holds: an int64 past 2^53, an unknown enum value, a time past year 9999", async () => {
    const api = testApi();
    const key = await keyWithEverything(api);
    const { key: updated } = await api.keys.updateKey({
      key: {
        id: key.id,
        name: "renamed",
        credits: { remaining: 2n ** 60n },
        rateLimits: [{ name: "r", limit: 2n ** 60n, durationMs: 1n, algorithm: 7 as RateLimitAlgorithm }],
        type: 7 as KeyType,
        expiresAt: { seconds: 999_999_999_999_999n },
      },
      updateMask: { paths: ["name"] },
    });
    expect(updated).toMatchObject({ name: "renamed", rateLimits: key.rateLimits, type: KeyType.STANDARD });
    expect(updated!.expiresAt).toBeUndefined();
    expect(updated!.credits).toBeUndefined();
  });

  it("OK: a key holding a rate limit stored before the 1-second floor can still be changed, and keeps that limit", async () => {
    const api = testApi();
    const key = await keyWithEverything(api);
    await api.store.updateKey(key.id, { rateLimits: [{ name: "legacy", limit: 5, durationMs: 1, autoApply: true }] }, {});
    const { key: updated } = await api.keys.updateKey({ key: { id: key.id, name: "renamed" }, updateMask: { paths: ["name"] } });
    expect(updated).toMatchObject({ name: "renamed", rateLimits: [{ name: "legacy", limit: 5n, durationMs: 1n, autoApply: true }] });
  });

  it("OK: cross-field rules hold on the key as it will be", async () => {
    const api = testApi();
    const key = await keyWithEverything(api);
    const { key: updated } = await api.keys.updateKey({
      key: { id: key.id, type: KeyType.MARKETPLACE_SUBSCRIPTION, subscriptionId: "sub_1" },
      updateMask: { paths: ["type", "subscription_id"] },
    });
    expect(updated).toMatchObject({ type: KeyType.MARKETPLACE_SUBSCRIPTION, subscriptionId: "sub_1" });
    await expectCode(
      api.keys.updateKey({ key: { id: key.id }, updateMask: { paths: ["subscription_id"] } }),
      Code.InvalidArgument,
      "key.subscription_id is required",
    );
  });

  it("NOT_FOUND: unknown or deleted key", async () => {
    const api = testApi();
    await expectCode(api.keys.updateKey({ key: { id: newId("key", Date.now()) }, updateMask: { paths: ["name"] } }), Code.NotFound);
    const key = await keyWithEverything(api);
    await api.keys.deleteKey({ id: key.id });
    await expectCode(api.keys.updateKey({ key: { id: key.id }, updateMask: { paths: ["name"] } }), Code.NotFound);
  });

  it("FAILED_PRECONDITION: a revoked key can never be changed or re-enabled", async () => {
    const api = testApi();
    const key = await keyWithEverything(api);
    await api.keys.revokeKey({ id: key.id });
    for (const paths of [["enabled"], ["name"], ["expires_at"]]) {
      await expectCode(
        api.keys.updateKey({ key: { id: key.id, enabled: true, name: "back" }, updateMask: { paths } }),
        Code.FailedPrecondition,
        `key ${key.id} is revoked`,
      );
    }
    expect((await api.keys.getKey({ id: key.id })).key).toMatchObject({ status: KeyStatus.REVOKED, name: "ci" });
  });

  it("PERMISSION_DENIED: creating the identity without identity.create changes nothing and registers none of the permissions", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const { key } = await api.keys.createKey({ key: { keyspaceId: keyspace.id } });
    const { secret } = await api.rootKeys.createRootKey({ rootKey: { name: "limited", permissions: ["key.update", "key.read"] } });
    await expectCode(
      api.as(secret).keys.updateKey({
        key: { id: key!.id, permissions: ["ghost.read"], externalId: "user_1" },
        updateMask: { paths: ["permissions", "external_id"] },
        createIdentity: true,
      }),
      Code.PermissionDenied,
      "this root key lacks the permission identity.create",
    );
    expect((await api.keys.getKey({ id: key!.id })).key).toMatchObject({ permissions: [], externalId: "" });
    expect((await api.rbac.listPermissions({})).permissions).toEqual([]);
  });

  it("a new balance first brings back the shares instances hold, as UpdateCredits' SET does; clearing the credits or changing other fields asks for none", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const { key } = await api.keys.createKey({ key: { keyspaceId: keyspace.id, credits: { remaining: 1000n } } });
    const steps: string[] = [];
    const { creditShares, store } = api.deps;
    const recall = creditShares.recall.bind(creditShares);
    creditShares.recall = async (keyId) => {
      steps.push(`recall ${keyId}`);
      await recall(keyId);
      steps.push("recalled");
    };
    const updateKey = store.updateKey.bind(store);
    store.updateKey = async (...args) => {
      steps.push("update");
      return updateKey(...args);
    };
    await api.keys.updateKey({ key: { id: key!.id, credits: { remaining: 300n } }, updateMask: { paths: ["credits"] } });
    expect(steps).toEqual([`recall ${key!.id}`, "recalled", "update"]);
    steps.length = 0;
    await api.keys.updateKey({ key: { id: key!.id, name: "renamed" }, updateMask: { paths: ["name"] } });
    await api.keys.updateKey({ key: { id: key!.id }, updateMask: { paths: ["credits"] } });
    expect(steps).toEqual(["update", "update"]);
  });
});
