import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { MANAGEMENT_PERMISSIONS } from "../../../src/domain/access.js";
import { newId } from "../../../src/domain/ids.js";
import { createKeyspace, expectCode, testApi } from "../../support/api.js";

describe("CreateRootKey", () => {
  it("OK: returns the secret once and stores only its digest", async () => {
    const api = testApi();
    const { rootKey, secret } = await api.rootKeys.createRootKey({ rootKey: { name: "ci", permissions: ["key.read", "key.read", "key.verify"] } });
    expect(rootKey).toMatchObject({ name: "ci", permissions: ["key.read", "key.verify"], createdBy: (await api.workspace()).rootKeyId });
    expect(secret.startsWith(rootKey!.start)).toBe(true);
    expect(JSON.stringify(await api.store.rootKeys.find({ id: rootKey!.id }))).not.toContain(secret);
  });

  it("PERMISSION_DENIED: a root key never grants a permission it lacks", async () => {
    const api = testApi();
    const { secret } = await api.rootKeys.createRootKey({ rootKey: { name: "manager", permissions: ["root_key.manage", "key.read"] } });
    const manager = api.as(secret);
    await manager.rootKeys.createRootKey({ rootKey: { name: "reader", permissions: ["key.read"] } });
    await expectCode(
      manager.rootKeys.createRootKey({ rootKey: { name: "writer", permissions: ["key.read", "key.create"] } }),
      Code.PermissionDenied,
      "this root key lacks the permission key.create",
    );
  });

  it("PERMISSION_DENIED: a narrowed root key only grants keyspaces it is narrowed to", async () => {
    const api = testApi();
    const mine = await createKeyspace(api, "mine");
    const theirs = await createKeyspace(api, "theirs");
    const { secret } = await api.rootKeys.createRootKey({ rootKey: { name: "narrow", permissions: ["root_key.manage", "key.read"], keyspaceIds: [mine.id] } });
    const narrow = api.as(secret);
    await narrow.rootKeys.createRootKey({ rootKey: { name: "ok", permissions: ["key.read"], keyspaceIds: [mine.id] } });
    for (const keyspaceIds of [[], [theirs.id], [mine.id, theirs.id]]) {
      await expectCode(
        narrow.rootKeys.createRootKey({ rootKey: { name: "wider", permissions: ["key.read"], keyspaceIds } }),
        Code.PermissionDenied,
        "this root key is narrowed to keyspaces and cannot grant or manage root keys beyond its keyspaces",
      );
    }
  });

  it("INVALID_ARGUMENT: no name, no permissions, an unknown permission, a bad keyspace id, an expiry in the past", async () => {
    const api = testApi();
    const cases: [object, string][] = [
      [{ name: "", permissions: ["key.read"] }, "root_key.name must be 1 to 128 characters"],
      [{ name: `x${"\u3000".repeat(128)}`, permissions: ["key.read"] }, "root_key.name must be 1 to 128 characters"],
      [{ name: "x", permissions: [] }, "root_key.permissions must name at least one permission"],
      [{ name: "x", permissions: ["key.read", "keys.everything"] }, "root_key.permissions[1] is not a management permission"],
      [{ name: "x", permissions: ["key.read"], keyspaceIds: ["nope"] }, "root_key.keyspace_ids[0] is not a keyspace id"],
      [{ name: "x", permissions: ["key.read"], expiresAt: { seconds: 1n } }, "root_key.expires_at must be in the future"],
    ];
    await expectCode(api.rootKeys.createRootKey({}), Code.InvalidArgument, "root_key must be set");
    for (const [rootKey, message] of cases) await expectCode(api.rootKeys.createRootKey({ rootKey }), Code.InvalidArgument, message);
  });

  it("INVALID_ARGUMENT: more permission entries than there are permissions, however many repeats, and nothing is kept", async () => {
    const api = testApi();
    for (const count of [MANAGEMENT_PERMISSIONS.length + 1, 100_000]) {
      const permissions = Array.from({ length: count }, () => "key.read");
      await expectCode(
        api.rootKeys.createRootKey({ rootKey: { name: "many", permissions } }),
        Code.InvalidArgument,
        `root_key.permissions must have at most ${MANAGEMENT_PERMISSIONS.length} entries`,
      );
    }
    expect((await api.rootKeys.listRootKeys({})).rootKeys.map((rootKey) => rootKey.name)).not.toContain("many");
    const every = await api.rootKeys.createRootKey({ rootKey: { name: "every", permissions: [...MANAGEMENT_PERMISSIONS] } });
    expect(every.rootKey!.permissions).toEqual([...MANAGEMENT_PERMISSIONS]);
  });

  it("PERMISSION_DENIED naming the permission: a narrowed root key granting a workspace-wide one; INVALID_ARGUMENT naming it: a narrowed grant of one", async () => {
    const api = testApi();
    const mine = await createKeyspace(api, "mine");
    const { rootKey, secret } = await api.rootKeys.createRootKey({
      rootKey: { name: "narrow", permissions: ["root_key.manage", "key.read"], keyspaceIds: [mine.id] },
    });
    const narrow = api.as(secret);
    const grant = { name: "wide", permissions: ["key.read", "identity.read"], keyspaceIds: [mine.id] };
    const lacking = await expectCode(
      narrow.rootKeys.createRootKey({ rootKey: grant }),
      Code.PermissionDenied,
      "this root key lacks the permission identity.read",
    );
    expect(lacking.findDetails(ErrorInfoSchema)).toMatchObject([{ metadata: { permission: "identity.read" } }]);

    const { workspaceId } = await api.workspace();
    await api.store.rootKeys.update({ id: rootKey!.id, workspaceId }, { permissions: [...MANAGEMENT_PERMISSIONS] });
    const holding = api.as((await api.rootKeys.rotateRootKey({ id: rootKey!.id, gracePeriodMs: 0n })).secret);
    await expectCode(
      holding.rootKeys.createRootKey({ rootKey: grant }),
      Code.PermissionDenied,
      "this root key is narrowed to keyspaces and cannot use the workspace-wide permission identity.read",
    );

    await expectCode(api.rootKeys.createRootKey({ rootKey: grant }), Code.InvalidArgument, "root_key.permissions[1] is identity.read, which is workspace-wide");
  });

  it("NOT_FOUND: narrowing to a keyspace that does not exist", async () => {
    const api = testApi();
    const id = newId("ks", Date.now());
    await expectCode(
      api.rootKeys.createRootKey({ rootKey: { name: "x", permissions: ["key.read"], keyspaceIds: [id] } }),
      Code.NotFound,
      `keyspace ${id} not found`,
    );
  });
});
