import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { VerifyCode } from "../../../gen/latchkey/v1/verify_pb.js";
import { MANAGEMENT_PERMISSIONS, type ManagementPermission, WORKSPACE_WIDE } from "../../../src/domain/access.js";
import { expectCode, testApi } from "../../support/api.js";
import { buildWorld } from "../../support/world.js";
import { RPC_CASES } from "./rpc-cases.js";

async function setUp(permissions: readonly ManagementPermission[]) {
  const api = testApi();
  const world = await buildWorld(api, await api.workspace());
  const { secret } = await world.clients.rootKeys.createRootKey({ rootKey: { name: "under test", permissions: [...permissions] } });
  return { api, world, as: api.as(secret) };
}

describe("management permissions", () => {
  it("every permission guards at least one RPC", () => {
    const guarding = new Set(RPC_CASES.map((rpcCase) => rpcCase.permission));
    expect(MANAGEMENT_PERMISSIONS.filter((permission) => !guarding.has(permission))).toEqual([]);
  });

  it.each(RPC_CASES)("$rpc: PERMISSION_DENIED without $permission, naming it", async ({ call, permission }) => {
    const { world, as } = await setUp(MANAGEMENT_PERMISSIONS.filter((held) => held !== permission));
    await expectCode(call(as, world), Code.PermissionDenied, `this root key lacks the permission ${permission}`);
  });

  it.each(RPC_CASES)("$rpc: allowed with $permission alone (and what it needs alongside)", async ({ call, permission, alongside, isolation }) => {
    const { world, as } = await setUp(alongside ? [permission, alongside] : [permission]);
    const response = await call(as, world);
    if (isolation === "verdict") expect(response).toEqual({ code: VerifyCode.VALID });
  });
});

describe("root keys narrowed to keyspaces", () => {
  it("reach their keyspaces' keys only; everything else answers NOT_FOUND", async () => {
    const api = testApi();
    const world = await buildWorld(api, await api.workspace());
    const { keyspace: other } = await world.clients.keyspaces.createKeyspace({ keyspace: { name: "other" } });
    const { key: otherKey, secret: otherSecret } = await world.clients.keys.createKey({ key: { keyspaceId: other!.id } });
    const { secret } = await world.clients.rootKeys.createRootKey({
      rootKey: { name: "narrow", permissions: ["key.read", "key.create", "key.verify", "keyspace.read"], keyspaceIds: [world.keyspaceId] },
    });
    const narrow = api.as(secret);

    expect((await narrow.keys.getKey({ id: world.keyId })).key!.id).toBe(world.keyId);
    await narrow.keys.createKey({ key: { keyspaceId: world.keyspaceId } });
    expect((await narrow.keyspaces.listKeyspaces({})).keyspaces.map((keyspace) => keyspace.id)).toEqual([world.keyspaceId]);
    expect((await narrow.verify.verifyKey({ key: world.keySecret })).code).toBe(VerifyCode.VALID);

    await expectCode(narrow.keys.getKey({ id: otherKey!.id }), Code.NotFound);
    await expectCode(narrow.keys.createKey({ key: { keyspaceId: other!.id } }), Code.NotFound);
    await expectCode(narrow.keyspaces.getKeyspace({ id: other!.id }), Code.NotFound);
    await expectCode(narrow.keys.listKeys({ keyspaceId: other!.id }), Code.NotFound);
    expect((await narrow.verify.verifyKey({ key: otherSecret })).code).toBe(VerifyCode.NOT_FOUND);
  });

  /** A narrowed root key holding every permission, as one made before workspace-wide permissions were kept from narrowed keys. */
  async function narrowedHoldingEverything() {
    const api = testApi();
    const world = await buildWorld(api, await api.workspace());
    const { rootKey, secret } = await world.clients.rootKeys.createRootKey({
      rootKey: { name: "narrow", permissions: ["key.read"], keyspaceIds: [world.keyspaceId] },
    });
    await api.store.rootKeys.update({ id: rootKey!.id, workspaceId: world.workspaceId }, { permissions: [...MANAGEMENT_PERMISSIONS] });
    return { api, world, narrow: api.as(secret) };
  }

  it.each(RPC_CASES.filter(({ permission }) => WORKSPACE_WIDE.has(permission)))(
    "$rpc: PERMISSION_DENIED for a narrowed root key, even one holding $permission",
    async ({ call, permission }) => {
      const { world, narrow } = await narrowedHoldingEverything();
      const error = await expectCode(
        call(narrow, world),
        Code.PermissionDenied,
        `this root key is narrowed to keyspaces and cannot use the workspace-wide permission ${permission}`,
      );
      expect(error.findDetails(ErrorInfoSchema)).toMatchObject([{ reason: "KEYSPACE_NOT_GRANTED", metadata: { permission } }]);
    },
  );

  it("cannot create identities through CreateKey or UpdateKey", async () => {
    const { api, world, narrow } = await narrowedHoldingEverything();
    const denial = "this root key is narrowed to keyspaces and cannot use the workspace-wide permission identity.create";
    await expectCode(
      narrow.keys.createKey({ key: { keyspaceId: world.keyspaceId, externalId: "cust_new" }, createIdentity: true }),
      Code.PermissionDenied,
      denial,
    );
    const update = { key: { id: world.keyId, externalId: "cust_new" }, updateMask: { paths: ["external_id"] }, createIdentity: true };
    await expectCode(narrow.keys.updateKey(update), Code.PermissionDenied, denial);
    expect((await api.identities.listIdentities({})).identities.map((identity) => identity.externalId)).not.toContain("cust_new");
    expect((await api.keys.listKeys({ keyspaceId: world.keyspaceId })).keys.map((key) => key.externalId)).not.toContain("cust_new");
  });

  it("cannot tie a key to an identity of the workspace, whether it exists yet or not", async () => {
    const { api, world, narrow } = await narrowedHoldingEverything();
    await api.identities.createIdentity({ identity: { externalId: "cust_other", meta: { plan: "enterprise" } } });
    const denial = "this root key is narrowed to keyspaces and cannot tie a key to an identity of the workspace";
    for (const externalId of ["cust_other", "cust_future"]) {
      await expectCode(narrow.keys.createKey({ key: { keyspaceId: world.keyspaceId, externalId } }), Code.PermissionDenied, denial);
      await expectCode(narrow.keys.updateKey({ key: { id: world.keyId, externalId }, updateMask: { paths: ["external_id"] } }), Code.PermissionDenied, denial);
      const imported = await narrow.keys.importKeys({
        keyspaceId: world.keyspaceId,
        keys: [{ key: { externalId }, secret: { case: "plaintext", value: `sk_${externalId}_imported` } }],
      });
      expect(imported.results).toMatchObject([{ errorCode: "PERMISSION_DENIED", errorMessage: denial }]);
    }
    // The identity made later shares its meta and limits with none of the narrowed key's keys.
    await api.identities.createIdentity({ identity: { externalId: "cust_future", meta: { billing: "private" } } });
    const externalIds = (await api.keys.listKeys({ keyspaceId: world.keyspaceId })).keys.map((listed) => listed.externalId);
    expect(externalIds.filter((externalId) => externalId.startsWith("cust_"))).toEqual([]);
  });
});
