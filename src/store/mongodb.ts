import { MongoClient, MongoServerError, type Collection, type Db, type Filter } from "mongodb";
import { alreadyExists } from "../domain/errors.js";
import type { JsonObject, KeyRecord } from "../domain/key.js";
import type { KeyspaceRecord } from "../domain/keyspace.js";
import type { KeyChange, KeyFilter, KeyGuard, KeyUse, Page, Store } from "./store.js";

/**
 * Meta and claims are kept as JSON text: callers' field names may hold `.` or start with `$`,
 * which MongoDB treats specially in documents and queries.
 */
type KeyDocument = Omit<KeyRecord, "id" | "meta" | "claims"> & { _id: string; metaJson: string | null; claimsJson: string | null };
type KeyspaceDocument = Omit<KeyspaceRecord, "id"> & { _id: string };
type ChangeDocument = Omit<KeyChange, "id"> & { _id: string };

const DUPLICATE_KEY = 11000;

export class MongoStore implements Store {
  readonly description: string;
  private readonly keyspaces: Collection<KeyspaceDocument>;
  private readonly keys: Collection<KeyDocument>;
  private readonly changes: Collection<ChangeDocument>;

  private constructor(
    private readonly client: MongoClient,
    db: Db,
  ) {
    this.description = `MongoDB database ${db.databaseName}`;
    this.keyspaces = db.collection("keyspaces");
    this.keys = db.collection("keys");
    this.changes = db.collection("key_changes");
  }

  /** Connects and creates the indexes the queries below rely on. */
  static async connect(uri: string, databaseName: string): Promise<MongoStore> {
    const client = await MongoClient.connect(uri, { serverSelectionTimeoutMS: 10_000 });
    const store = new MongoStore(client, client.db(databaseName));
    await store.keys.createIndexes([
      { key: { hash: 1 }, name: "hash_unique", unique: true },
      { key: { keyspaceId: 1, _id: 1 }, name: "keyspace_id" },
      { key: { keyspaceId: 1, ownerId: 1, _id: 1 }, name: "keyspace_owner_id" },
      { key: { keyspaceId: 1, externalId: 1, _id: 1 }, name: "keyspace_external_id" },
    ]);
    await store.changes.createIndex({ at: 1 }, { name: "at" });
    return store;
  }

  async insertKeyspace(keyspace: KeyspaceRecord) {
    const { id, ...rest } = keyspace;
    await rejectDuplicates(() => this.keyspaces.insertOne({ _id: id, ...rest }), `keyspace ${id} already exists`);
  }

  async getKeyspace(id: string) {
    return keyspaceFromDocument(await this.keyspaces.findOne({ _id: id }));
  }

  async listKeyspaces(page: Page) {
    const documents = await this.keyspaces.find(afterFilter(page)).sort({ _id: 1 }).limit(page.limit).toArray();
    return documents.map((document) => keyspaceFromDocument(document)!);
  }

  async updateKeyspace(id: string, changes: Partial<KeyspaceRecord>) {
    const { id: _ignored, ...fields } = changes;
    const document = await this.keyspaces.findOneAndUpdate({ _id: id }, { $set: fields }, { returnDocument: "after" });
    return keyspaceFromDocument(document);
  }

  async deleteKeyspace(id: string) {
    return (await this.keyspaces.deleteOne({ _id: id })).deletedCount === 1;
  }

  async insertKey(key: KeyRecord) {
    const { id, meta, claims, ...rest } = key;
    const document: KeyDocument = { _id: id, ...rest, metaJson: toJson(meta), claimsJson: toJson(claims) };
    await rejectDuplicates(() => this.keys.insertOne(document), "a key with this id or secret already exists");
  }

  async getKey(id: string) {
    return keyFromDocument(await this.keys.findOne({ _id: id }));
  }

  async findKeyByHash(hash: string) {
    return keyFromDocument(await this.keys.findOne({ hash }));
  }

  async listKeys(filter: KeyFilter, page: Page) {
    const query: Filter<KeyDocument> = { keyspaceId: filter.keyspaceId, deletedAt: null, ...afterFilter(page) };
    if (filter.ownerId !== undefined) query.ownerId = filter.ownerId;
    if (filter.externalId !== undefined) query.externalId = filter.externalId;
    if (filter.status !== undefined) Object.assign(query, statusFilter(filter.status, new Date(filter.now)));
    const documents = await this.keys.find(query).sort({ _id: 1 }).limit(page.limit).toArray();
    return documents.map((document) => keyFromDocument(document)!);
  }

  async countLiveKeys(keyspaceId: string) {
    return this.keys.countDocuments({ keyspaceId, deletedAt: null });
  }

  async updateKey(id: string, changes: Partial<KeyRecord>, guard: KeyGuard) {
    const query: Filter<KeyDocument> = { _id: id };
    if (guard.notDeleted) query.deletedAt = null;
    if (guard.notRevoked) query.revokedAt = null;
    const document = await this.keys.findOneAndUpdate(query, { $set: keyFields(changes) }, { returnDocument: "after" });
    return keyFromDocument(document);
  }

  async deleteKey(id: string) {
    return keyFromDocument(await this.keys.findOneAndDelete({ _id: id }));
  }

  async deleteKeysInKeyspace(keyspaceId: string) {
    return (await this.keys.deleteMany({ keyspaceId })).deletedCount;
  }

  async spendCredits(id: string, cost: number) {
    const spent = await this.keys.findOneAndUpdate(
      { _id: id, deletedAt: null, "credits.remaining": { $gte: cost } },
      { $inc: { "credits.remaining": -cost } },
      { returnDocument: "after", projection: { credits: 1 } },
    );
    if (spent?.credits) return { spent: true, remaining: spent.credits.remaining };
    const current = await this.keys.findOne({ _id: id, deletedAt: null }, { projection: { credits: 1 } });
    return current?.credits ? { spent: false, remaining: current.credits.remaining } : null;
  }

  async refillCredits(id: string, periodStart: Date, amount: number) {
    const result = await this.keys.updateOne(
      {
        _id: id,
        "credits.refill": { $ne: null },
        $or: [{ "credits.refill.lastRefillAt": null }, { "credits.refill.lastRefillAt": { $lt: periodStart } }],
      },
      { $set: { "credits.remaining": amount, "credits.refill.lastRefillAt": periodStart } },
    );
    return result.modifiedCount === 1;
  }

  async recordKeyUse(uses: readonly KeyUse[]) {
    if (uses.length === 0) return;
    await this.keys.bulkWrite(
      uses.map(({ id, at }) => ({
        updateOne: {
          filter: { _id: id, $or: [{ lastUsedAt: null }, { lastUsedAt: { $lt: at } }] },
          update: { $set: { lastUsedAt: at } },
        },
      })),
      { ordered: false },
    );
  }

  async appendChange(change: KeyChange) {
    const { id, ...rest } = change;
    await this.changes.insertOne({ _id: id, ...rest });
  }

  async changesSince(since: Date) {
    const documents = await this.changes.find({ at: { $gte: since } }).sort({ at: 1 }).toArray();
    return documents.map(({ _id, ...rest }) => ({ id: _id, ...rest }));
  }

  async pruneChanges(before: Date) {
    await this.changes.deleteMany({ at: { $lt: before } });
  }

  async close() {
    await this.client.close();
  }
}

/** Mirrors domain/key.ts keyStatus: revoked, then disabled, then expired. */
function statusFilter(status: KeyFilter["status"], now: Date): Filter<KeyDocument> {
  switch (status) {
    case "revoked":
      return { revokedAt: { $ne: null } };
    case "disabled":
      return { revokedAt: null, enabled: false };
    case "expired":
      return { revokedAt: null, enabled: true, expiresAt: { $ne: null, $lte: now } };
    default:
      return { revokedAt: null, enabled: true, $or: [{ expiresAt: null }, { expiresAt: { $gt: now } }] };
  }
}

const afterFilter = (page: Page) => (page.after === undefined ? {} : { _id: { $gt: page.after } });

async function rejectDuplicates(insert: () => Promise<unknown>, message: string) {
  try {
    await insert();
  } catch (error) {
    if (error instanceof MongoServerError && error.code === DUPLICATE_KEY) throw alreadyExists(message);
    throw error;
  }
}

const toJson = (value: JsonObject | null) => (value === null ? null : JSON.stringify(value));
const fromJson = (text: string | null | undefined) => (text ? (JSON.parse(text) as JsonObject) : null);

function keyFields(changes: Partial<KeyRecord>): Partial<KeyDocument> {
  const { id: _ignored, meta, claims, ...rest } = changes;
  const fields: Partial<KeyDocument> = rest;
  if (meta !== undefined) fields.metaJson = toJson(meta);
  if (claims !== undefined) fields.claimsJson = toJson(claims);
  return fields;
}

function keyFromDocument(document: KeyDocument | null): KeyRecord | null {
  if (!document) return null;
  const { _id, metaJson, claimsJson, ...rest } = document;
  return { id: _id, ...rest, meta: fromJson(metaJson), claims: fromJson(claimsJson) };
}

function keyspaceFromDocument(document: KeyspaceDocument | null): KeyspaceRecord | null {
  if (!document) return null;
  const { _id, ...rest } = document;
  return { id: _id, ...rest };
}
