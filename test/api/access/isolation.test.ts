import { randomUUID } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { VerifyCode } from "../../../gen/latchkey/v1/verify_pb.js";
import { API_SERVICES } from "../../../src/app/api-services.js";
import { expectCode, stringify, testApi, type TestApi } from "../../support/api.js";
import { buildWorld, type World } from "../../support/world.js";
import { RPC_CASES } from "./rpc-cases.js";

import { MemoryStore } from "../../../src/store/memory.js";
import { MongoStore } from "../../../src/store/mongodb.js";
import type { Store } from "../../../src/store/store.js";

/**
 * Workspace A's root key, holding every permission, aims every RPC at workspace B's records, on
 * each store: isolation rests on the queries, so both adapters are held to it.
 */
const stores: [string, () => Promise<Store>][] = [
  ["in memory", async () => new MemoryStore()],
  ["on MongoDB", () => MongoStore.connect(inject("mongoUri"), `latchkey_isolation_${randomUUID()}`)],
];

/** Everything of B that anyone can read back: ids, names and secrets. */
const secretsAndIds = (world: World) => [
  world.workspaceId,
  world.keyspaceId,
  world.keyId,
  world.keySecret,
  world.identityId,
  world.roleId,
  world.permissionId,
  world.rootKeyId,
  world.rootKeyId,
  world.secret,
  world.ratelimitNamespaceId,
  world.overrideId,
];

async function snapshot(world: World) {
  const c = world.clients;
  return stringify([
    await c.workspaces.getWorkspace({}),
    await c.keyspaces.listKeyspaces({}),
    await c.keys.listKeys({ keyspaceId: world.keyspaceId }),
    await c.identities.listIdentities({}),
    await c.rbac.listRoles({}),
    await c.rbac.listPermissions({}),
    await c.rootKeys.listRootKeys({}),
    await c.verify.verifyKey({ key: world.keySecret, permissionQuery: `${world.permissionName.split(".")[0]}.read` }),
    await c.ratelimits.listNamespaces({}),
    await c.ratelimits.listOverrides({ namespace: world.ratelimitNamespace }),
    await c.ratelimits.limit({
      namespace: world.ratelimitNamespace,
      identifier: world.overrideIdentifier.replace("*", "someone"),
      limit: 100n,
      durationMs: 60_000n,
      cost: 0n,
    }),
  ]);
}

describe.each(stores)("workspace isolation, %s", (_, openStore) => {
  let store: Store;
  let api: TestApi;
  let a: World;
  let b: World;
  beforeAll(async () => {
    store = await openStore();
  });
  afterAll(() => store.close());
  beforeEach(async () => {
    api = testApi(store);
    a = await buildWorld(api, await api.workspace(), "a");
    b = await buildWorld(api, await api.newWorkspace("b"), "b");
  });

  it("covers every RPC a root key can call", () => {
    const rpcs = API_SERVICES.flatMap((service) => service.methods.map((method) => `${service.name}/${method.name}`));
    const covered = RPC_CASES.map((rpcCase) => rpcCase.rpc);
    // CreateWorkspace takes the ADMIN_TOKEN; GetCurrentRootKey needs no permission and names no record (test/api/root-key-service/get-current-root-key.test.ts).
    expect(rpcs.filter((rpc) => !covered.includes(rpc))).toEqual(["WorkspaceService/CreateWorkspace", "RootKeyService/GetCurrentRootKey"]);
  });

  it.each(RPC_CASES)("$rpc: another workspace's records are not there ($isolation)", async ({ call, isolation }) => {
    const before = await snapshot(b);
    if (isolation === "not_found") {
      const error = await expectCode(call(a.clients, b), Code.NotFound);
      for (const hidden of [b.keySecret, b.secret, b.roleName, b.permissionName]) expect(error.rawMessage).not.toContain(hidden);
    } else {
      const response = await call(a.clients, b);
      if (isolation === "verdict") expect(response).toEqual({ code: VerifyCode.NOT_FOUND });
      const text = stringify(response);
      for (const hidden of secretsAndIds(b)) expect(text).not.toContain(hidden);
    }
    expect(await snapshot(b)).toBe(before);
  });

  it("answers another workspace's id exactly as an id that does not exist", async () => {
    const missing = b.keyId.slice(0, -1) + (b.keyId.endsWith("z") ? "y" : "z");
    const foreign = await expectCode(a.clients.keys.getKey({ id: b.keyId }), Code.NotFound);
    const absent = await expectCode(a.clients.keys.getKey({ id: missing }), Code.NotFound);
    expect(foreign.rawMessage.replace(b.keyId, "ID")).toBe(absent.rawMessage.replace(missing, "ID"));
  });

  it("lets both workspaces use the same names and external ids", async () => {
    await a.clients.identities.createIdentity({ identity: { externalId: b.externalId } });
    await a.clients.rbac.createRole({ role: { name: b.roleName } });
    await a.clients.rbac.createPermission({ permission: { name: b.permissionName } });
    expect((await a.clients.identities.getIdentity({ externalId: b.externalId })).identity!.id).not.toBe(b.identityId);
  });

  it("will not narrow a new root key to another workspace's keyspace, nor give a key another workspace's role", async () => {
    await expectCode(a.clients.rootKeys.createRootKey({ rootKey: { name: "x", permissions: ["key.read"], keyspaceIds: [b.keyspaceId] } }), Code.NotFound);
    await expectCode(a.clients.keys.addKeyRoles({ keyId: a.keyId, names: [b.roleName] }), Code.NotFound, "names[0] names no role of this workspace");
  });
});
