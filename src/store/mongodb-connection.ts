import { type AnyBulkWriteOperation, type Db, MongoClient, type MongoClientOptions } from "mongodb";
import type { RootKeyRecord } from "../domain/access.js";
import type { AuditEventRecord } from "../domain/audit.js";
import type { IdempotentRequestRecord } from "../domain/idempotency.js";
import type { IdentityRecord } from "../domain/identity.js";
import type { KeyRecord } from "../domain/key.js";
import type { KeyspaceRecord } from "../domain/keyspace.js";
import type { PermissionRecord, RoleRecord } from "../domain/rbac.js";
import type { WorkspaceRecord } from "../domain/workspace.js";
import { MongoAnalytics } from "./analytics/mongodb.js";
import type { ChangeDocument } from "./changes/mongodb.js";
import { digestsOf } from "./keys/index.js";
import type { RateLimitDocument } from "./rate-limit-windows/mongodb.js";
import { MongoRatelimits } from "./ratelimits/mongodb.js";
import { MongoTable, type StoredDocument } from "./tables/mongodb.js";

export async function connectClient(uri: string, clientOptions: MongoClientOptions): Promise<MongoClient> {
  return MongoClient.connect(uri, { serverSelectionTimeoutMS: 10_000, ...clientOptions });
}

/** Every collection the store keeps, by name: the one place that says which collection holds what. */
export function openCollections(db: Db) {
  return {
    workspaces: new MongoTable<WorkspaceRecord>(db, "workspaces", "workspace"),
    rootKeys: new MongoTable<RootKeyRecord>(db, "root_keys", "root key"),
    keyspaces: new MongoTable<KeyspaceRecord>(db, "keyspaces", "keyspace"),
    identities: new MongoTable<IdentityRecord>(db, "identities", "identity", ["meta"]),
    roles: new MongoTable<RoleRecord>(db, "roles", "role"),
    permissions: new MongoTable<PermissionRecord>(db, "permissions", "permission"),
    requests: new MongoTable<IdempotentRequestRecord>(db, "idempotent_requests", "request"),
    keys: new MongoTable<KeyRecord>(db, "keys", "key", ["meta", "claims"], ["digests"]),
    auditEvents: new MongoTable<AuditEventRecord>(db, "audit_events", "audit event", ["summary"]),
    changes: db.collection<ChangeDocument>("key_changes"),
    rateLimitWindows: db.collection<RateLimitDocument>("rate_limit_windows"),
    ratelimits: new MongoRatelimits(db),
    analytics: new MongoAnalytics(db),
  };
}

export type MongoCollections = ReturnType<typeof openCollections>;

/**
 * Keys of earlier versions were unique by digest across all workspaces, and found by two
 * queries: each key gets its `digests`, and the global indexes go, so the per-workspace unique
 * index can be built. Safe to repeat, and a no-op once done.
 */
export async function migrate({ keys }: MongoCollections) {
  const outdated = keys.collection.find({ digests: { $exists: false } }, { projection: { hash: 1, previousSecret: 1 } });
  let batch: AnyBulkWriteOperation<StoredDocument>[] = [];
  for await (const document of outdated) {
    batch.push({ updateOne: { filter: { _id: document._id }, update: { $set: { digests: digestsOf(keys.fromDocument(document)!) } } } });
    if (batch.length === 1000) {
      await keys.collection.bulkWrite(batch, { ordered: false });
      batch = [];
    }
  }
  if (batch.length > 0) await keys.collection.bulkWrite(batch, { ordered: false });
  const indexes = new Set((await keys.collection.indexes().catch(() => [])).map((index) => index.name));
  for (const name of ["hash_unique", "previous_hash"]) if (indexes.has(name)) await keys.collection.dropIndex(name);
}

/**
 * Creates any missing index (a database restored empty, or dropped, loses them; unique ones keep
 * duplicate ids and digests out): a no-op when all exist, and a round trip that shows the
 * database answers. The queries of every capability's adapter rely on these.
 */
export async function ensureIndexes(collections: MongoCollections) {
  const { keys, rootKeys, keyspaces, identities, roles, permissions, auditEvents, requests } = collections;
  await keys.collection.createIndexes([
    { key: { workspaceId: 1, digests: 1 }, name: "workspace_digests_unique", unique: true },
    { key: { keyspaceId: 1, _id: 1 }, name: "keyspace_id" },
    { key: { keyspaceId: 1, ownerId: 1, _id: 1 }, name: "keyspace_owner_id" },
    { key: { keyspaceId: 1, externalId: 1, _id: 1 }, name: "keyspace_external_id" },
    { key: { workspaceId: 1, externalId: 1 }, name: "workspace_external_id" },
    { key: { workspaceId: 1, roles: 1 }, name: "workspace_roles" },
    { key: { workspaceId: 1, permissions: 1 }, name: "workspace_permissions" },
  ]);
  await rootKeys.collection.createIndexes([
    { key: { hash: 1 }, name: "hash_unique", unique: true },
    { key: { workspaceId: 1, _id: 1 }, name: "workspace_id" },
  ]);
  await keyspaces.collection.createIndex({ workspaceId: 1, _id: 1 }, { name: "workspace_id" });
  await identities.collection.createIndex({ workspaceId: 1, externalId: 1 }, { name: "workspace_external_id_unique", unique: true });
  for (const table of [roles, permissions]) {
    await table.collection.createIndex({ workspaceId: 1, name: 1 }, { name: "workspace_name_unique", unique: true });
  }
  await roles.collection.createIndex({ workspaceId: 1, permissions: 1 }, { name: "workspace_permissions" });
  await auditEvents.collection.createIndexes([
    { key: { workspaceId: 1, _id: 1 }, name: "workspace_id" },
    { key: { workspaceId: 1, actor: 1, _id: 1 }, name: "workspace_actor" },
    { key: { workspaceId: 1, action: 1, _id: 1 }, name: "workspace_action" },
    { key: { workspaceId: 1, targetIds: 1, _id: 1 }, name: "workspace_target" },
  ]);
  await collections.changes.createIndex({ at: 1 }, { name: "at" });
  await collections.rateLimitWindows.createIndex({ endsAt: 1 }, { name: "ends_at" });
  await requests.collection.createIndex({ startedAt: 1 }, { name: "started_at" });
  await collections.ratelimits.ensureIndexes();
  await collections.analytics.ensureIndexes();
}
