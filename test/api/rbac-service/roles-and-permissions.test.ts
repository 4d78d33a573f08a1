import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { VerifyCode } from "../../../gen/latchkey/v1/verify_pb.js";
import { newId } from "../../../src/domain/ids.js";
import { createKeyspace, expectCode, testApi, type TestApi } from "../../support/api.js";

async function issue(api: TestApi, key: { roles?: string[]; permissions?: string[] } = {}) {
  const keyspace = await createKeyspace(api);
  return api.keys.createKey({ key: { keyspaceId: keyspace.id, ...key } });
}

const names = async (api: TestApi) => (await api.rbac.listPermissions({})).permissions.map((p) => p.name).sort();

describe("permissions", () => {
  it("OK: created, listed, registered on first use by keys and roles, deleted from every holder", async () => {
    const api = testApi();
    const { permission } = await api.rbac.createPermission({ permission: { name: "docs.read", description: "read documents" } });
    expect(permission).toMatchObject({ name: "docs.read", description: "read documents" });
    await api.rbac.createRole({ role: { name: "editor", permissions: ["docs.read", "docs.write"] } });
    const { key, secret } = await issue(api, { permissions: ["docs.read", "billing.read"], roles: ["editor"] });
    expect(await names(api)).toEqual(["billing.read", "docs.read", "docs.write"]);

    await api.rbac.deletePermission({ id: permission!.id });
    expect(await names(api)).toEqual(["billing.read", "docs.write"]);
    expect((await api.keys.getKey({ id: key!.id })).key!.permissions).toEqual(["billing.read"]);
    expect((await api.rbac.listRoles({})).roles[0]!.permissions).toEqual(["docs.write"]);
    expect((await api.verify.verifyKey({ key: secret, permissionQuery: "docs.read" })).code).toBe(VerifyCode.INSUFFICIENT_PERMISSIONS);
  });

  it("ALREADY_EXISTS, INVALID_ARGUMENT, NOT_FOUND", async () => {
    const api = testApi();
    await api.rbac.createPermission({ permission: { name: "docs.read" } });
    await expectCode(api.rbac.createPermission({ permission: { name: "docs.read" } }), Code.AlreadyExists);
    await expectCode(api.rbac.createPermission({ permission: { name: "has space" } }), Code.InvalidArgument, "permission.name must be");
    await expectCode(api.rbac.createPermission({}), Code.InvalidArgument, "permission must be set");
    const id = newId("perm", Date.now());
    await expectCode(api.rbac.deletePermission({ id }), Code.NotFound, `permission ${id} not found`);
    await expectCode(api.rbac.deletePermission({ id: "role_1" }), Code.InvalidArgument, "id is not a permission id");
  });
});

describe("roles", () => {
  it("OK: a key holds its roles' permissions, as they are at each verification", async () => {
    const api = testApi();
    const { role } = await api.rbac.createRole({ role: { name: "reader", description: "reads", permissions: ["docs.read"] } });
    expect(role).toMatchObject({ name: "reader", description: "reads", permissions: ["docs.read"] });
    const { secret } = await issue(api, { roles: ["reader"], permissions: ["billing.read"] });
    const valid = await api.verify.verifyKey({ key: secret, permissionQuery: "docs.read AND billing.read" });
    expect(valid).toMatchObject({ code: VerifyCode.VALID, roles: ["reader"], permissions: ["billing.read", "docs.read"] });
    expect((await api.verify.verifyKey({ key: secret, permissionQuery: "docs.write" })).code).toBe(VerifyCode.INSUFFICIENT_PERMISSIONS);

    await api.rbac.updateRole({ role: { id: role!.id, permissions: ["docs.read", "docs.write"] }, updateMask: { paths: ["permissions"] } });
    expect((await api.verify.verifyKey({ key: secret, permissionQuery: "docs.write" })).code).toBe(VerifyCode.VALID);
    await api.rbac.updateRole({ role: { id: role!.id }, updateMask: { paths: ["permissions"] } });
    expect((await api.verify.verifyKey({ key: secret, permissionQuery: "docs.read" })).code).toBe(VerifyCode.INSUFFICIENT_PERMISSIONS);
  });

  it("OK: deleting a role takes it from every key", async () => {
    const api = testApi();
    const { role } = await api.rbac.createRole({ role: { name: "reader", permissions: ["docs.read"] } });
    const { key, secret } = await issue(api, { roles: ["reader"] });
    expect((await api.verify.verifyKey({ key: secret, permissionQuery: "docs.read" })).code).toBe(VerifyCode.VALID);
    await api.rbac.deleteRole({ id: role!.id });
    expect((await api.keys.getKey({ id: key!.id })).key!.roles).toEqual([]);
    expect((await api.verify.verifyKey({ key: secret, permissionQuery: "docs.read" })).code).toBe(VerifyCode.INSUFFICIENT_PERMISSIONS);
    expect((await api.rbac.listRoles({})).roles).toEqual([]);
  });

  it("ALREADY_EXISTS, INVALID_ARGUMENT, NOT_FOUND", async () => {
    const api = testApi();
    await api.rbac.createRole({ role: { name: "reader" } });
    await expectCode(api.rbac.createRole({ role: { name: "reader" } }), Code.AlreadyExists);
    await expectCode(api.rbac.createRole({ role: { name: "no*stars" } }), Code.InvalidArgument, "role.name must be");
    await expectCode(api.rbac.createRole({ role: { name: "r", permissions: ["bad permission"] } }), Code.InvalidArgument, "role.permissions[0] must be");
    const id = newId("role", Date.now());
    await expectCode(api.rbac.updateRole({ role: { id }, updateMask: { paths: ["description"] } }), Code.NotFound, `role ${id} not found`);
    await expectCode(
      api.rbac.updateRole({ role: { id }, updateMask: { paths: ["name"] } }),
      Code.InvalidArgument,
      "update_mask.paths[0] is not an updatable field",
    );
    await expectCode(api.rbac.deleteRole({ id }), Code.NotFound);
    await expectCode(issue(api, { roles: ["reader", "ghost"] }), Code.NotFound, "key.roles[1] names no role of this workspace");
  });

  it("NOT_FOUND: updating a missing role registers none of its would-be permissions", async () => {
    const api = testApi();
    const id = newId("role", Date.now());
    await expectCode(api.rbac.updateRole({ role: { id, permissions: ["ghost.read"] }, updateMask: { paths: ["permissions"] } }), Code.NotFound);
    expect((await api.rbac.listPermissions({})).permissions.map((permission) => permission.name)).not.toContain("ghost.read");
  });

  it("ALREADY_EXISTS: a role whose name is taken registers none of its would-be permissions", async () => {
    const api = testApi();
    await api.rbac.createRole({ role: { name: "editor" } });
    await expectCode(api.rbac.createRole({ role: { name: "editor", permissions: ["ghost.read"] } }), Code.AlreadyExists, "this role already exists");
    expect((await api.rbac.listPermissions({})).permissions.map((permission) => permission.name)).not.toContain("ghost.read");
  });
});

describe("assigning roles and permissions to a key", () => {
  it("OK: adds, removes and sets, idempotently", async () => {
    const api = testApi();
    await api.rbac.createRole({ role: { name: "a" } });
    await api.rbac.createRole({ role: { name: "b" } });
    const { key } = await issue(api);
    const id = key!.id;
    expect((await api.keys.addKeyRoles({ keyId: id, names: ["a", "b"] })).key!.roles).toEqual(["a", "b"]);
    expect((await api.keys.addKeyRoles({ keyId: id, names: ["a"] })).key!.roles).toEqual(["a", "b"]);
    expect((await api.keys.removeKeyRoles({ keyId: id, names: ["a", "never-held"] })).key!.roles).toEqual(["b"]);
    expect((await api.keys.setKeyRoles({ keyId: id, names: ["a"] })).key!.roles).toEqual(["a"]);
    expect((await api.keys.setKeyRoles({ keyId: id, names: [] })).key!.roles).toEqual([]);
    expect((await api.keys.addKeyPermissions({ keyId: id, names: ["x.read", "x.write"] })).key!.permissions).toEqual(["x.read", "x.write"]);
    expect((await api.keys.removeKeyPermissions({ keyId: id, names: ["x.read"] })).key!.permissions).toEqual(["x.write"]);
    expect((await api.keys.setKeyPermissions({ keyId: id, names: ["y.read", "y.read"] })).key!.permissions).toEqual(["y.read"]);
    expect(await names(api)).toEqual(["x.read", "x.write", "y.read"]);
  });

  it("takes effect on the next verification", async () => {
    const api = testApi();
    await api.rbac.createRole({ role: { name: "reader", permissions: ["docs.read"] } });
    const { key, secret } = await issue(api);
    expect((await api.verify.verifyKey({ key: secret, permissionQuery: "docs.read" })).code).toBe(VerifyCode.INSUFFICIENT_PERMISSIONS);
    await api.keys.addKeyRoles({ keyId: key!.id, names: ["reader"] });
    expect((await api.verify.verifyKey({ key: secret, permissionQuery: "docs.read" })).code).toBe(VerifyCode.VALID);
  });

  it("NOT_FOUND: an unknown role or key; FAILED_PRECONDITION: a revoked key; INVALID_ARGUMENT: bad names", async () => {
    const api = testApi();
    const { key } = await issue(api);
    await expectCode(api.keys.addKeyRoles({ keyId: key!.id, names: ["ghost"] }), Code.NotFound, "names[0] names no role of this workspace");
    const missing = newId("key", Date.now());
    await expectCode(api.keys.addKeyPermissions({ keyId: missing, names: ["x"] }), Code.NotFound, `key ${missing} not found`);
    await expectCode(api.keys.addKeyPermissions({ keyId: key!.id, names: ["bad name"] }), Code.InvalidArgument, "names[0] must be");
    await expectCode(api.keys.setKeyRoles({ keyId: "", names: [] }), Code.InvalidArgument, "key_id must not be empty");
    await expectCode(
      api.keys.updateKey({ key: { id: key!.id, roles: ["ghost"] }, updateMask: { paths: ["roles"] } }),
      Code.NotFound,
      "key.roles[0] names no role of this workspace",
    );
    await api.keys.revokeKey({ id: key!.id });
    await expectCode(api.keys.addKeyPermissions({ keyId: key!.id, names: ["x"] }), Code.FailedPrecondition, `key ${key!.id} is revoked`);
  });

  it("INVALID_ARGUMENT: more than 100 roles on one key", async () => {
    const api = testApi();
    const names = Array.from({ length: 101 }, (_, i) => `r${i}`);
    for (const name of names) await api.rbac.createRole({ role: { name } });
    const { key } = await issue(api, { roles: names.slice(0, 60) });
    await expectCode(api.keys.addKeyRoles({ keyId: key!.id, names: names.slice(60) }), Code.InvalidArgument, "names would give the key more than 100 roles");
    await expectCode(api.keys.setKeyRoles({ keyId: key!.id, names }), Code.InvalidArgument, "names must have at most 100 entries");
  });
});
