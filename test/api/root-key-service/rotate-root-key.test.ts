import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { expectCode, testApi } from "../../support/api.js";

describe("RotateRootKey", () => {
  it("OK: a new secret with the same grants; the old one works through the grace period only", async () => {
    const api = testApi();
    const { rootKey: old, secret: oldSecret } = await api.rootKeys.createRootKey({ rootKey: { name: "svc", permissions: ["keyspace.read"] } });
    const rotated = await api.rootKeys.rotateRootKey({ id: old!.id, gracePeriodMs: 60_000n });
    expect(rotated.rootKey).toMatchObject({ name: "svc", permissions: ["keyspace.read"] });
    expect(rotated.rootKey!.id).not.toBe(old!.id);
    expect(rotated.replaced).toMatchObject({ id: old!.id, replacedBy: rotated.rootKey!.id });
    await api.as(rotated.secret).keyspaces.listKeyspaces({});
    await api.as(oldSecret).keyspaces.listKeyspaces({});
    api.clock.now += 60_000;
    await expectCode(api.as(oldSecret).keyspaces.listKeyspaces({}), Code.Unauthenticated);
    await api.as(rotated.secret).keyspaces.listKeyspaces({});
  });

  it("OK: no grace period revokes the old secret at once", async () => {
    const api = testApi();
    const { rootKey, secret } = await api.rootKeys.createRootKey({ rootKey: { name: "svc", permissions: ["keyspace.read"] } });
    await api.as(secret).keyspaces.listKeyspaces({});
    api.clock.now += 1_000;
    const { replaced } = await api.rootKeys.rotateRootKey({ id: rootKey!.id });
    expect(timestampMs(replaced!.revokedAt!)).toBe(api.clock.now);
    await expectCode(api.as(secret).keyspaces.listKeyspaces({}), Code.Unauthenticated);
  });

  it("PERMISSION_DENIED: rotating a root key that holds more than the caller", async () => {
    const api = testApi();
    const { secret } = await api.rootKeys.createRootKey({ rootKey: { name: "manager", permissions: ["root_key.manage"] } });
    const { rootKeyId } = await api.workspace();
    await expectCode(api.as(secret).rootKeys.rotateRootKey({ id: rootKeyId }), Code.PermissionDenied, "this root key lacks the permission");
  });

  it("FAILED_PRECONDITION: a revoked root key; INVALID_ARGUMENT: a grace period beyond 7 days", async () => {
    const api = testApi();
    const { rootKey } = await api.rootKeys.createRootKey({ rootKey: { name: "svc", permissions: ["keyspace.read"] } });
    await expectCode(
      api.rootKeys.rotateRootKey({ id: rootKey!.id, gracePeriodMs: 604_800_001n }),
      Code.InvalidArgument,
      "grace_period_ms must be greater than or equal to 0 and less than or equal to 604800000",
    );
    await api.rootKeys.revokeRootKey({ id: rootKey!.id });
    await expectCode(api.rootKeys.rotateRootKey({ id: rootKey!.id }), Code.FailedPrecondition, `root key ${rootKey!.id} is revoked or expired`);
  });

  it("FAILED_PRECONDITION: of two rotations at once, the refused one leaves no usable root key behind", async () => {
    const api = testApi();
    const { rootKey: old } = await api.rootKeys.createRootKey({ rootKey: { name: "svc", permissions: ["keyspace.read"] } });
    const outcomes = await Promise.allSettled([0, 1].map(() => api.rootKeys.rotateRootKey({ id: old!.id, gracePeriodMs: 0n })));
    const rotated = outcomes.flatMap((outcome) => (outcome.status === "fulfilled" ? [outcome.value] : []));
    expect(rotated).toHaveLength(1);
    const refused = outcomes.find((outcome) => outcome.status === "rejected");
    await expectCode(Promise.reject(refused!.reason), Code.FailedPrecondition, `root key ${old!.id} is revoked already`);
    const live = (await api.rootKeys.listRootKeys({})).rootKeys.filter((rootKey) => rootKey.name === "svc" && !rootKey.revokedAt);
    expect(live.map((rootKey) => rootKey.id)).toEqual([rotated[0]!.rootKey!.id]);
  });
});
