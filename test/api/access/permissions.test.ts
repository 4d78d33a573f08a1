import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { VerifyCode } from "../../../gen/latchkey/v1/verify_pb.js";
import { MANAGEMENT_PERMISSIONS, type ManagementPermission } from "../../../src/domain/access.js";
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

  it.each(RPC_CASES)("$rpc: allowed with $permission alone", async ({ call, permission, isolation }) => {
    const { world, as } = await setUp([permission]);
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
});
