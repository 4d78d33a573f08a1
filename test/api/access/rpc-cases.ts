import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Granularity } from "../../../gen/latchkey/v1/analytics_pb.js";
import { CreditOperation } from "../../../gen/latchkey/v1/key_pb.js";
import type { ManagementPermission } from "../../../src/domain/access.js";
import type { Clients } from "../../support/api.js";
import type { World } from "../../support/world.js";

/**
 * What a root key of another workspace gets when it names this world's records:
 * - not_found: the call fails with NOT_FOUND, exactly as for an id that does not exist;
 * - own: the call succeeds, on the caller's own workspace, and shows nothing of this world;
 * - verdict: the call resolves to `{ code }`, a verification's verdict, which is VERIFY_CODE_NOT_FOUND.
 */
export type Isolation = "not_found" | "own" | "verdict";

export interface RpcCase {
  /** `Service/Method`, as the API names it. */
  rpc: string;
  permission: ManagementPermission;
  /** What the call needs besides `permission` (a decrypting read needs the read too). */
  alongside?: ManagementPermission;
  /** For mutations: the action their audit event records. */
  action?: string;
  isolation: Isolation;
  /** Calls the RPC with `as`'s credentials on `world`'s records; must succeed when `as` may. */
  call(as: Clients, world: World): Promise<unknown>;
}

/** Every RPC a root key can call, with a request that succeeds against the world it names. */
export const RPC_CASES: RpcCase[] = [
  { rpc: "WorkspaceService/GetWorkspace", permission: "workspace.read", isolation: "own", call: (c) => c.workspaces.getWorkspace({}) },
  {
    rpc: "WorkspaceService/UpdateWorkspace",
    action: "workspace.update",
    permission: "workspace.update",
    isolation: "own",
    call: (c) => c.workspaces.updateWorkspace({ workspace: { name: "renamed" }, updateMask: { paths: ["name"] } }),
  },
  {
    rpc: "RootKeyService/CreateRootKey",
    action: "root_key.create",
    permission: "root_key.manage",
    isolation: "own",
    call: (c) => c.rootKeys.createRootKey({ rootKey: { name: "more", permissions: ["root_key.manage"] } }),
  },
  { rpc: "RootKeyService/ListRootKeys", permission: "root_key.manage", isolation: "own", call: (c) => c.rootKeys.listRootKeys({}) },
  {
    rpc: "RootKeyService/RevokeRootKey",
    action: "root_key.revoke",
    permission: "root_key.manage",
    isolation: "not_found",
    call: (c, w) => c.rootKeys.revokeRootKey({ id: w.rootKeyId }),
  },
  {
    rpc: "RootKeyService/RotateRootKey",
    action: "root_key.rotate",
    permission: "root_key.manage",
    isolation: "not_found",
    call: (c, w) => c.rootKeys.rotateRootKey({ id: w.rootKeyId }),
  },
  {
    rpc: "KeyspaceService/CreateKeyspace",
    action: "keyspace.create",
    permission: "keyspace.create",
    isolation: "own",
    call: (c) => c.keyspaces.createKeyspace({ keyspace: { name: "another" } }),
  },
  { rpc: "KeyspaceService/GetKeyspace", permission: "keyspace.read", isolation: "not_found", call: (c, w) => c.keyspaces.getKeyspace({ id: w.keyspaceId }) },
  { rpc: "KeyspaceService/ListKeyspaces", permission: "keyspace.read", isolation: "own", call: (c) => c.keyspaces.listKeyspaces({}) },
  {
    rpc: "KeyspaceService/UpdateKeyspace",
    action: "keyspace.update",
    permission: "keyspace.update",
    isolation: "not_found",
    call: (c, w) => c.keyspaces.updateKeyspace({ keyspace: { id: w.keyspaceId, name: "renamed" }, updateMask: { paths: ["name"] } }),
  },
  {
    rpc: "KeyspaceService/DeleteKeyspace",
    action: "keyspace.delete",
    permission: "keyspace.delete",
    isolation: "not_found",
    call: (c, w) => c.keyspaces.deleteKeyspace({ id: w.keyspaceId, force: true }),
  },
  {
    rpc: "KeyService/CreateKey",
    action: "key.create",
    permission: "key.create",
    isolation: "not_found",
    call: (c, w) => c.keys.createKey({ key: { keyspaceId: w.keyspaceId } }),
  },
  { rpc: "KeyService/GetKey", permission: "key.read", isolation: "not_found", call: (c, w) => c.keys.getKey({ id: w.keyId }) },
  { rpc: "KeyService/ListKeys", permission: "key.read", isolation: "not_found", call: (c, w) => c.keys.listKeys({ keyspaceId: w.keyspaceId }) },
  {
    rpc: "KeyService/UpdateKey",
    action: "key.update",
    permission: "key.update",
    isolation: "not_found",
    call: (c, w) => c.keys.updateKey({ key: { id: w.keyId, name: "renamed" }, updateMask: { paths: ["name"] } }),
  },
  {
    rpc: "KeyService/RevokeKey",
    action: "key.revoke",
    permission: "key.delete",
    isolation: "not_found",
    call: (c, w) => c.keys.revokeKey({ id: w.keyId }),
  },
  {
    rpc: "KeyService/DeleteKey",
    action: "key.delete",
    permission: "key.delete",
    isolation: "not_found",
    call: (c, w) => c.keys.deleteKey({ id: w.keyId }),
  },
  {
    rpc: "KeyService/AddKeyRoles",
    action: "key.add_roles",
    permission: "key.update",
    isolation: "not_found",
    call: (c, w) => c.keys.addKeyRoles({ keyId: w.keyId, names: [w.roleName] }),
  },
  {
    rpc: "KeyService/RemoveKeyRoles",
    action: "key.remove_roles",
    permission: "key.update",
    isolation: "not_found",
    call: (c, w) => c.keys.removeKeyRoles({ keyId: w.keyId, names: [w.roleName] }),
  },
  {
    rpc: "KeyService/SetKeyRoles",
    action: "key.set_roles",
    permission: "key.update",
    isolation: "not_found",
    call: (c, w) => c.keys.setKeyRoles({ keyId: w.keyId, names: [] }),
  },
  {
    rpc: "KeyService/AddKeyPermissions",
    action: "key.add_permissions",
    permission: "key.update",
    isolation: "not_found",
    call: (c, w) => c.keys.addKeyPermissions({ keyId: w.keyId, names: ["x.y"] }),
  },
  {
    rpc: "KeyService/RemoveKeyPermissions",
    action: "key.remove_permissions",
    permission: "key.update",
    isolation: "not_found",
    call: (c, w) => c.keys.removeKeyPermissions({ keyId: w.keyId, names: [w.permissionName] }),
  },
  {
    rpc: "KeyService/SetKeyPermissions",
    action: "key.set_permissions",
    permission: "key.update",
    isolation: "not_found",
    call: (c, w) => c.keys.setKeyPermissions({ keyId: w.keyId, names: ["x.y"] }),
  },
  {
    rpc: "KeyService/UpdateCredits",
    action: "key.update_credits",
    permission: "key.update",
    isolation: "not_found",
    call: (c, w) => c.keys.updateCredits({ keyId: w.keyId, operation: CreditOperation.SET, value: 10n }),
  },
  {
    rpc: "KeyService/GetKey with decrypt",
    permission: "key.decrypt",
    alongside: "key.read",
    isolation: "not_found",
    call: (c, w) => c.keys.getKey({ id: w.keyId, decrypt: true }),
  },
  { rpc: "KeyService/WhoAmI", permission: "key.read", isolation: "not_found", call: (c, w) => c.keys.whoAmI({ key: w.keySecret }) },
  {
    rpc: "KeyService/RerollKey",
    action: "key.reroll",
    permission: "key.create",
    isolation: "not_found",
    call: (c, w) => c.keys.rerollKey({ id: w.keyId, gracePeriodMs: 60_000n }),
  },
  {
    rpc: "KeyService/ImportKeys",
    action: "key.import",
    permission: "key.create",
    isolation: "not_found",
    call: (c, w) => c.keys.importKeys({ keyspaceId: w.keyspaceId, keys: [{ secret: { case: "plaintext", value: `imported_${Math.random()}` } }] }),
  },
  {
    rpc: "VerifyService/VerifyKey",
    permission: "key.verify",
    isolation: "verdict",
    call: async (c, w) => ({ code: (await c.verify.verifyKey({ key: w.keySecret })).code }),
  },
  {
    rpc: "VerifyService/VerifyKeys",
    permission: "key.verify",
    isolation: "verdict",
    call: async (c, w) => ({ code: (await c.verify.verifyKeys({ requests: [{ key: w.keySecret }] })).results[0]!.code }),
  },
  {
    rpc: "IdentityService/CreateIdentity",
    action: "identity.create",
    permission: "identity.create",
    isolation: "own",
    call: (c, w) => c.identities.createIdentity({ identity: { externalId: `${w.externalId}-2` } }),
  },
  { rpc: "IdentityService/GetIdentity", permission: "identity.read", isolation: "not_found", call: (c, w) => c.identities.getIdentity({ id: w.identityId }) },
  { rpc: "IdentityService/ListIdentities", permission: "identity.read", isolation: "own", call: (c) => c.identities.listIdentities({}) },
  {
    rpc: "IdentityService/UpdateIdentity",
    action: "identity.update",
    permission: "identity.update",
    isolation: "not_found",
    call: (c, w) => c.identities.updateIdentity({ identity: { id: w.identityId }, updateMask: { paths: ["meta"] } }),
  },
  {
    rpc: "IdentityService/DeleteIdentity",
    action: "identity.delete",
    permission: "identity.delete",
    isolation: "not_found",
    call: (c, w) => c.identities.deleteIdentity({ id: w.identityId, force: true }),
  },
  {
    rpc: "RbacService/CreatePermission",
    action: "permission.create",
    permission: "rbac.manage",
    isolation: "own",
    call: (c) => c.rbac.createPermission({ permission: { name: "new.permission" } }),
  },
  { rpc: "RbacService/ListPermissions", permission: "rbac.read", isolation: "own", call: (c) => c.rbac.listPermissions({}) },
  {
    rpc: "RbacService/DeletePermission",
    action: "permission.delete",
    permission: "rbac.manage",
    isolation: "not_found",
    call: (c, w) => c.rbac.deletePermission({ id: w.permissionId }),
  },
  {
    rpc: "RbacService/CreateRole",
    action: "role.create",
    permission: "rbac.manage",
    isolation: "own",
    call: (c) => c.rbac.createRole({ role: { name: "new-role" } }),
  },
  { rpc: "RbacService/ListRoles", permission: "rbac.read", isolation: "own", call: (c) => c.rbac.listRoles({}) },
  {
    rpc: "RbacService/UpdateRole",
    action: "role.update",
    permission: "rbac.manage",
    isolation: "not_found",
    call: (c, w) => c.rbac.updateRole({ role: { id: w.roleId, permissions: ["x.y"] }, updateMask: { paths: ["permissions"] } }),
  },
  {
    rpc: "RbacService/DeleteRole",
    action: "role.delete",
    permission: "rbac.manage",
    isolation: "not_found",
    call: (c, w) => c.rbac.deleteRole({ id: w.roleId }),
  },
  { rpc: "AuditService/ListAuditEvents", permission: "audit.read", isolation: "own", call: (c) => c.audit.listAuditEvents({}) },
  {
    rpc: "RatelimitService/Limit",
    permission: "ratelimit.limit",
    isolation: "own",
    call: (c, w) =>
      c.ratelimits.limit({ namespace: w.ratelimitNamespace, identifier: w.overrideIdentifier.replace("*", "someone"), limit: 100n, durationMs: 60_000n }),
  },
  {
    rpc: "RatelimitService/MultiLimit",
    permission: "ratelimit.limit",
    isolation: "own",
    call: (c, w) =>
      c.ratelimits.multiLimit({
        limits: [
          { namespace: w.ratelimitNamespace, identifier: w.overrideIdentifier.replace("*", "someone"), limit: 100n, durationMs: 60_000n },
          { namespace: "exports", identifier: "tenant-1", limit: 3n, durationMs: 3_600_000n },
        ],
      }),
  },
  {
    rpc: "RatelimitService/SetOverride",
    action: "ratelimit.override.set",
    permission: "ratelimit.manage",
    isolation: "own",
    call: (c, w) => c.ratelimits.setOverride({ override: { namespace: w.ratelimitNamespace, identifier: w.overrideIdentifier, limit: 1n, durationMs: 1000n } }),
  },
  {
    rpc: "RatelimitService/GetOverride",
    permission: "ratelimit.manage",
    isolation: "not_found",
    call: (c, w) => c.ratelimits.getOverride({ namespace: w.ratelimitNamespace, identifier: w.overrideIdentifier }),
  },
  {
    rpc: "RatelimitService/ListOverrides",
    permission: "ratelimit.manage",
    isolation: "own",
    call: (c, w) => c.ratelimits.listOverrides({ namespace: w.ratelimitNamespace }),
  },
  {
    rpc: "RatelimitService/DeleteOverride",
    action: "ratelimit.override.delete",
    permission: "ratelimit.manage",
    isolation: "not_found",
    call: (c, w) => c.ratelimits.deleteOverride({ namespace: w.ratelimitNamespace, identifier: w.overrideIdentifier }),
  },
  { rpc: "RatelimitService/ListNamespaces", permission: "ratelimit.manage", isolation: "own", call: (c) => c.ratelimits.listNamespaces({}) },
  {
    rpc: "RatelimitService/DeleteNamespace",
    action: "ratelimit.namespace.delete",
    permission: "ratelimit.manage",
    isolation: "not_found",
    call: (c, w) => c.ratelimits.deleteNamespace({ name: w.ratelimitNamespace }),
  },
  {
    rpc: "AnalyticsService/GetVerifications",
    permission: "analytics.read",
    isolation: "own",
    call: (c, w) =>
      c.analytics.getVerifications({ startTime: timestampFromMs(Date.UTC(2026, 0, 15)), granularity: Granularity.HOUR, keyspaceId: w.keyspaceId }),
  },
  { rpc: "AnalyticsService/GetKeyUsage", permission: "analytics.read", isolation: "not_found", call: (c, w) => c.analytics.getKeyUsage({ keyId: w.keyId }) },
  {
    rpc: "AnalyticsService/GetRatelimitOutcomes",
    permission: "analytics.read",
    isolation: "own",
    call: (c, w) =>
      c.analytics.getRatelimitOutcomes({ startTime: timestampFromMs(Date.UTC(2026, 0, 15)), granularity: Granularity.HOUR, namespace: w.ratelimitNamespace }),
  },
];
