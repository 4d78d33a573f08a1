import type { Bootstrap, Clients, TestApi } from "./api.js";

/** One of everything in a workspace, for tests that call every RPC against it. */
export interface World extends Bootstrap {
  clients: Clients;
  keyspaceId: string;
  keyId: string;
  keySecret: string;
  identityId: string;
  externalId: string;
  roleId: string;
  roleName: string;
  permissionId: string;
  permissionName: string;
  /** A second root key, holding root_key.manage only. */
  rootKeyId: string;
  /** A rate-limit namespace, made by SetOverride. */
  ratelimitNamespace: string;
  ratelimitNamespaceId: string;
  /** The namespace's one override: a pattern. */
  overrideIdentifier: string;
  overrideId: string;
}

export async function buildWorld(api: TestApi, boot: Bootstrap, label = "w"): Promise<World> {
  const clients = api.as(boot.secret);
  const { keyspace } = await clients.keyspaces.createKeyspace({ keyspace: { name: `${label} keyspace`, defaultPrefix: label } });
  const { identity } = await clients.identities.createIdentity({ identity: { externalId: `${label}-customer`, meta: { plan: "pro" } } });
  const { permission } = await clients.rbac.createPermission({ permission: { name: `${label}.read` } });
  const { role } = await clients.rbac.createRole({ role: { name: `${label}-reader`, permissions: [permission!.name] } });
  const { key, secret } = await clients.keys.createKey({
    key: { keyspaceId: keyspace!.id, externalId: identity!.externalId, roles: [role!.name], permissions: [`${label}.write`] },
  });
  const { rootKey } = await clients.rootKeys.createRootKey({ rootKey: { name: `${label} automation`, permissions: ["root_key.manage"] } });
  const { override } = await clients.ratelimits.setOverride({
    override: { namespace: `${label}-logins`, identifier: `*@${label}.example`, limit: 5n, durationMs: 60_000n },
  });
  const { namespaces } = await clients.ratelimits.listNamespaces({});
  return {
    ...boot,
    clients,
    keyspaceId: keyspace!.id,
    keyId: key!.id,
    keySecret: secret,
    identityId: identity!.id,
    externalId: identity!.externalId,
    roleId: role!.id,
    roleName: role!.name,
    permissionId: permission!.id,
    permissionName: permission!.name,
    rootKeyId: rootKey!.id,
    ratelimitNamespace: override!.namespace,
    ratelimitNamespaceId: namespaces[0]!.id,
    overrideIdentifier: override!.identifier,
    overrideId: override!.id,
  };
}
