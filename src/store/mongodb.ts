import { type AnyBulkWriteOperation, type Collection, type Db, type Filter, MongoClient, type MongoClientOptions, type UpdateFilter } from "mongodb";
import type { RootKeyRecord } from "../domain/access.js";
import type { AuditEventRecord, AuditFilter } from "../domain/audit.js";
import type { IdempotentRequestRecord } from "../domain/idempotency.js";
import type { IdentityRecord } from "../domain/identity.js";
import type { Credits, KeyRecord, PreviousSecret } from "../domain/key.js";
import type { SealedSecret } from "../domain/secret-vault.js";
import type { KeyspaceRecord } from "../domain/keyspace.js";
import { applyCreditsUpdate, balances, type CreditsUpdate, decrementPlan } from "../domain/credits.js";
import type { GrantChange, GrantKind, PermissionRecord, RoleRecord } from "../domain/rbac.js";
import type { WorkspaceRecord } from "../domain/workspace.js";
import { MongoAnalytics } from "./mongodb-analytics.js";
import { isDuplicateKey, MongoTable, rejectDuplicates, type StoredDocument } from "./mongodb-table.js";
import { MongoRatelimits } from "./mongodb-ratelimits.js";
import type { KeyChange, KeyChangeTarget, KeyFilter, KeyGuard, KeyUse, Page, RateLimitWindow, Store } from "./store.js";

type ChangeDocument = Omit<KeyChange, "seq"> & { _id: number };
/** `used` counts every unit asked for, so it may pass the limit: what was granted is the part below it. */
type RateLimitDocument = { _id: string; used: number; endsAt: Date };
/** Instances racing for change numbers each win one per round; this many rounds lost means something else is wrong. */
const MAX_NUMBERING_ATTEMPTS = 100;
/** A balance spent from so fast that an update's condition keeps failing this often means something else is wrong. */
const MAX_CREDIT_UPDATE_ATTEMPTS = 20;
/** A $set of these fields, or nothing: not every server accepts an empty $set. */
const setting = (fields: Record<string, unknown>) => (Object.keys(fields).length > 0 ? { $set: fields } : {});

export class MongoStore implements Store {
  readonly description: string;
  readonly workspaces: MongoTable<WorkspaceRecord>;
  readonly rootKeys: MongoTable<RootKeyRecord>;
  readonly keyspaces: MongoTable<KeyspaceRecord>;
  readonly identities: MongoTable<IdentityRecord>;
  readonly roles: MongoTable<RoleRecord>;
  readonly permissions: MongoTable<PermissionRecord>;
  readonly requests: MongoTable<IdempotentRequestRecord>;
  readonly ratelimits: MongoRatelimits;
  readonly analytics: MongoAnalytics;
  private readonly keys: MongoTable<KeyRecord>;
  private readonly auditEvents: MongoTable<AuditEventRecord>;
  private readonly changes: Collection<ChangeDocument>;
  private readonly rateLimits: Collection<RateLimitDocument>;

  private constructor(
    /** Public for tests that watch the commands sent. */
    readonly client: MongoClient,
    db: Db,
  ) {
    this.description = `MongoDB database ${db.databaseName}`;
    this.workspaces = new MongoTable(db, "workspaces", "workspace");
    this.rootKeys = new MongoTable(db, "root_keys", "root key");
    this.keyspaces = new MongoTable(db, "keyspaces", "keyspace");
    this.identities = new MongoTable(db, "identities", "identity", ["meta"]);
    this.roles = new MongoTable(db, "roles", "role");
    this.permissions = new MongoTable(db, "permissions", "permission");
    this.requests = new MongoTable(db, "idempotent_requests", "request");
    this.ratelimits = new MongoRatelimits(db);
    this.keys = new MongoTable(db, "keys", "key", ["meta", "claims"], ["digests"]);
    this.auditEvents = new MongoTable(db, "audit_events", "audit event", ["summary"]);
    this.changes = db.collection("key_changes");
    this.rateLimits = db.collection("rate_limit_windows");
    this.analytics = new MongoAnalytics(db);
  }

  /** Connects, brings documents of earlier versions up to date, and creates the indexes the queries below rely on. */
  static async connect(uri: string, databaseName: string, clientOptions: MongoClientOptions = {}): Promise<MongoStore> {
    const client = await MongoClient.connect(uri, { serverSelectionTimeoutMS: 10_000, ...clientOptions });
    const store = new MongoStore(client, client.db(databaseName));
    await store.migrate();
    await store.checkHealth();
    return store;
  }

  /**
   * Keys of earlier versions were unique by digest across all workspaces, and found by two
   * queries: each key gets its `digests`, and the global indexes go, so the per-workspace unique
   * index can be built. Safe to repeat, and a no-op once done.
   */
  private async migrate() {
    const outdated = this.keys.collection.find({ digests: { $exists: false } }, { projection: { hash: 1, previousSecret: 1 } });
    let batch: AnyBulkWriteOperation<StoredDocument>[] = [];
    for await (const document of outdated) {
      batch.push({ updateOne: { filter: { _id: document._id }, update: { $set: { digests: digestsOf(this.keys.fromDocument(document)!) } } } });
      if (batch.length === 1000) {
        await this.keys.collection.bulkWrite(batch, { ordered: false });
        batch = [];
      }
    }
    if (batch.length > 0) await this.keys.collection.bulkWrite(batch, { ordered: false });
    const indexes = new Set((await this.keys.collection.indexes().catch(() => [])).map((index) => index.name));
    for (const name of ["hash_unique", "previous_hash"]) if (indexes.has(name)) await this.keys.collection.dropIndex(name);
  }

  /**
   * Creates any missing index (a database restored empty, or dropped, loses them; unique ones keep
   * duplicate ids and digests out): a no-op when all exist, and a round trip that shows the
   * database answers.
   */
  async checkHealth() {
    await this.keys.collection.createIndexes([
      { key: { workspaceId: 1, digests: 1 }, name: "workspace_digests_unique", unique: true },
      { key: { keyspaceId: 1, _id: 1 }, name: "keyspace_id" },
      { key: { keyspaceId: 1, ownerId: 1, _id: 1 }, name: "keyspace_owner_id" },
      { key: { keyspaceId: 1, externalId: 1, _id: 1 }, name: "keyspace_external_id" },
      { key: { workspaceId: 1, externalId: 1 }, name: "workspace_external_id" },
      { key: { workspaceId: 1, roles: 1 }, name: "workspace_roles" },
      { key: { workspaceId: 1, permissions: 1 }, name: "workspace_permissions" },
    ]);
    await this.rootKeys.collection.createIndexes([
      { key: { hash: 1 }, name: "hash_unique", unique: true },
      { key: { workspaceId: 1, _id: 1 }, name: "workspace_id" },
    ]);
    await this.keyspaces.collection.createIndex({ workspaceId: 1, _id: 1 }, { name: "workspace_id" });
    await this.identities.collection.createIndex({ workspaceId: 1, externalId: 1 }, { name: "workspace_external_id_unique", unique: true });
    for (const table of [this.roles, this.permissions]) {
      await table.collection.createIndex({ workspaceId: 1, name: 1 }, { name: "workspace_name_unique", unique: true });
    }
    await this.roles.collection.createIndex({ workspaceId: 1, permissions: 1 }, { name: "workspace_permissions" });
    await this.auditEvents.collection.createIndexes([
      { key: { workspaceId: 1, _id: 1 }, name: "workspace_id" },
      { key: { workspaceId: 1, actor: 1, _id: 1 }, name: "workspace_actor" },
      { key: { workspaceId: 1, action: 1, _id: 1 }, name: "workspace_action" },
      { key: { workspaceId: 1, targetIds: 1, _id: 1 }, name: "workspace_target" },
    ]);
    await this.changes.createIndex({ at: 1 }, { name: "at" });
    await this.rateLimits.createIndex({ endsAt: 1 }, { name: "ends_at" });
    await this.requests.collection.createIndex({ startedAt: 1 }, { name: "started_at" });
    await this.ratelimits.ensureIndexes();
    await this.analytics.ensureIndexes();
  }

  async insertKey(key: KeyRecord) {
    await rejectDuplicates(
      () => this.keys.collection.insertOne({ ...this.keys.toDocument(key), digests: digestsOf(key) }),
      "a key with this id or secret already exists",
    );
  }

  async getKey(id: string) {
    return this.keys.find({ id });
  }

  /** One read of the per-workspace unique index of every digest: an $or of the two fields would scan on some servers when nothing matches. */
  async findKeyByHash(workspaceId: string, hash: string) {
    return this.keys.fromDocument(await this.keys.collection.findOne({ workspaceId, digests: hash }));
  }

  async findKeysByHashes(workspaceId: string, hashes: readonly string[]) {
    if (hashes.length === 0) return [];
    const documents = await this.keys.collection.find({ workspaceId, digests: { $in: [...hashes] } }).toArray();
    return documents.map((document) => this.keys.fromDocument(document)!);
  }

  async replaceSecret(id: string, currentHash: string, next: Pick<KeyRecord, "hash" | "start" | "sealedSecret">, previous: PreviousSecret, at: Date) {
    const replaced = await rejectDuplicates(
      () =>
        this.keys.collection.findOneAndUpdate(
          { _id: id, deletedAt: null, revokedAt: null, hash: currentHash },
          {
            $set: {
              hash: next.hash,
              start: next.start,
              sealedSecret: next.sealedSecret ?? null,
              previousSecret: previous,
              digests: digestsOf({ hash: next.hash, previousSecret: previous }),
              updatedAt: at,
            },
          },
          { returnDocument: "after" },
        ),
      "a key with this secret already exists",
    );
    return this.keys.fromDocument(replaced);
  }

  async countDigests() {
    const counts = await Promise.all([this.keys.collection.estimatedDocumentCount(), this.rootKeys.collection.estimatedDocumentCount()]);
    return counts[0] + counts[1];
  }

  async *digests() {
    for (const table of [this.keys, this.rootKeys]) {
      const documents = table.collection.find({}, { projection: { _id: 0, hash: 1, "previousSecret.hash": 1 }, batchSize: 10_000 });
      for await (const document of documents) {
        yield document.hash as string;
        if (document.previousSecret) yield document.previousSecret.hash as string;
      }
    }
  }

  async listKeys(filter: KeyFilter, page: Page) {
    const query: Filter<StoredDocument> = { keyspaceId: filter.keyspaceId, deletedAt: null, ...afterFilter(page) };
    if (filter.ownerId !== undefined) query.ownerId = filter.ownerId;
    if (filter.externalId !== undefined) query.externalId = filter.externalId;
    if (filter.status !== undefined) Object.assign(query, statusFilter(filter.status, new Date(filter.now)));
    const documents = await this.keys.collection.find(query).sort({ _id: 1 }).limit(page.limit).toArray();
    return documents.map((document) => this.keys.fromDocument(document)!);
  }

  async countLiveKeys(keyspaceId: string) {
    return this.keys.collection.countDocuments({ keyspaceId, deletedAt: null });
  }

  async countLiveKeysOfIdentity(workspaceId: string, externalId: string) {
    return this.keys.collection.countDocuments({ workspaceId, externalId, deletedAt: null });
  }

  async updateKey(id: string, changes: Partial<KeyRecord>, guard: KeyGuard) {
    return this.keys.update({ id, ...(guard.notDeleted && { deletedAt: null }), ...(guard.notRevoked && { revokedAt: null }) }, changes);
  }

  async changeKeyGrants(id: string, kind: GrantKind, change: GrantChange, names: readonly string[], at: Date) {
    const update =
      change === "set"
        ? { $set: { [kind]: [...new Set(names)], updatedAt: at } }
        : change === "add"
          ? { $addToSet: { [kind]: { $each: [...names] } }, $set: { updatedAt: at } }
          : { $pull: { [kind]: { $in: [...names] } }, $set: { updatedAt: at } };
    // The driver's update types cannot follow a field name held in a variable.
    const document = await this.keys.collection.findOneAndUpdate({ _id: id, deletedAt: null, revokedAt: null }, update as UpdateFilter<StoredDocument>, {
      returnDocument: "after",
    });
    return this.keys.fromDocument(document);
  }

  async removeGrantEverywhere(workspaceId: string, kind: GrantKind, name: string, at: Date) {
    const pull = (field: string) => ({ $pull: { [field]: name }, $set: { updatedAt: at } }) as unknown as UpdateFilter<StoredDocument>;
    await this.keys.collection.updateMany({ workspaceId, [kind]: name }, pull(kind));
    if (kind === "permissions") await this.roles.collection.updateMany({ workspaceId, permissions: name }, pull("permissions"));
  }

  async keysSealedOtherwise(kekId: string, page: Page) {
    const documents = await this.keys.collection
      .find({ sealedSecret: { $ne: null }, "sealedSecret.kekId": { $ne: kekId }, ...afterFilter(page) })
      .sort({ _id: 1 })
      .limit(page.limit)
      .toArray();
    return documents.map((document) => this.keys.fromDocument(document)!);
  }

  async replaceSealedSecret(id: string, current: SealedSecret, next: SealedSecret) {
    return this.updateKeyIf({ _id: id, "sealedSecret.ciphertext": current.ciphertext }, { $set: { sealedSecret: next } });
  }

  async deleteKey(id: string) {
    return this.keys.delete({ id });
  }

  async deleteKeysInKeyspace(keyspaceId: string) {
    return (await this.keys.collection.deleteMany({ keyspaceId })).deletedCount;
  }

  async spendCredits(id: string, cost: number) {
    const spent = await this.keys.collection.findOneAndUpdate(
      { _id: id, deletedAt: null, "credits.remaining": { $gte: cost } },
      { $inc: { "credits.remaining": -cost } },
      { returnDocument: "after", projection: { credits: 1 } },
    );
    if (spent?.credits) return { spent: true, ...balances(spent.credits as Credits) };
    const current = await this.keys.collection.findOne({ _id: id, deletedAt: null }, { projection: { credits: 1 } });
    return current?.credits ? { spent: false, ...balances(current.credits as Credits) } : null;
  }

  async refillCredits(id: string, periodStart: Date, amount: number) {
    return this.updateKeyIf(
      {
        _id: id,
        "credits.refill": { $ne: null },
        $or: [{ "credits.refill.lastRefillAt": null }, { "credits.refill.lastRefillAt": { $lt: periodStart } }],
      },
      { $set: { "credits.remaining": amount, "credits.refill.lastRefillAt": periodStart }, $unset: { "credits.shares": "" } },
    );
  }

  /**
   * One update of the key document, never a read-modify-write of the whole balance, so nothing a
   * holder does at the same time is lost: SET replaces the credits (voiding shares), INCREMENT is
   * one `$inc`, and a DECREMENT is one `$inc` of the unshared balance and of the shares it takes
   * units from (decrementPlan), each guarded to hold at least what it takes; one that a concurrent
   * change outran is planned again.
   */
  async updateCredits(id: string, update: CreditsUpdate) {
    const live = { _id: id, deletedAt: null, revokedAt: null };
    const refill = update.refill === undefined ? {} : { "credits.refill": update.refill };
    const value = update.value ?? 0;
    for (let attempt = 0; attempt < MAX_CREDIT_UPDATE_ATTEMPTS; attempt++) {
      const current = attempt === 0 ? undefined : await this.getKey(id);
      if (current === null || current?.deletedAt || current?.revokedAt) return null;
      // Throws when no state of the key could take the update (no credits, or a balance past the limit).
      if (current) applyCreditsUpdate(current.credits, update);
      const steps: [Filter<StoredDocument>, UpdateFilter<StoredDocument>][] =
        update.operation === "set" && update.value === null
          ? [[live, { $set: { credits: null } }]]
          : update.operation === "set"
            ? [
                [{ ...live, credits: { $ne: null } }, { $set: { "credits.remaining": value, ...refill }, $unset: { "credits.shares": "" } }],
                [{ ...live, credits: null }, { $set: { credits: { remaining: value, refill: update.refill ?? null } } }],
              ]
            : update.operation === "increment"
              ? [[{ ...live, credits: { $ne: null }, "credits.remaining": { $lte: Number.MAX_SAFE_INTEGER - value } }, { $inc: { "credits.remaining": value }, ...setting(refill) }]]
              : [decrementStep(live, current?.credits ?? { remaining: value }, value, refill)];
      for (const [filter, change] of steps) {
        if (await this.updateKeyIf(filter, change)) return this.getKey(id);
      }
    }
    throw new Error(`credits of key ${id} kept changing under UpdateCredits`);
  }

  async takeCreditShare(id: string, share: string, units: number, claim: number, expiresAt: Date) {
    return this.updateKeyIf(
      { _id: id, deletedAt: null, "credits.remaining": { $gte: units } },
      { $inc: { "credits.remaining": -units }, $set: { [`credits.shares.${share}`]: { unclaimed: units - claim, expiresAt } } },
    );
  }

  async claimCredits(id: string, share: string, units: number, expiresAt: Date) {
    const field = `credits.shares.${share}`;
    return this.updateKeyIf(
      { _id: id, deletedAt: null, [`${field}.unclaimed`]: { $gte: units } },
      { $inc: { [`${field}.unclaimed`]: -units }, $set: { [`${field}.expiresAt`]: expiresAt } },
    );
  }

  /** The share's unclaimed units as read, guarded: a DECREMENT or a reclaim may change them meanwhile, and is then read again. */
  async returnCreditShare(id: string, share: string, unspent: number) {
    const field = `credits.shares.${share}`;
    for (let attempt = 0; attempt < MAX_CREDIT_UPDATE_ATTEMPTS; attempt++) {
      const unclaimed = (await this.getKey(id))?.credits?.shares?.[share]?.unclaimed;
      if (unclaimed === undefined) return false;
      if (await this.updateKeyIf({ _id: id, deletedAt: null, [`${field}.unclaimed`]: unclaimed }, { $inc: { "credits.remaining": unclaimed + unspent }, $unset: { [field]: "" } })) {
        return true;
      }
    }
    throw new Error(`credits of key ${id} kept changing while a share was returned`);
  }

  /** Each expired share is emptied only if it still holds what was read: its holder may be claiming from it right now. */
  async reclaimCreditShares(id: string, before: Date) {
    const current = await this.getKey(id);
    let returned = 0;
    for (const [share, { unclaimed, expiresAt }] of Object.entries(current?.credits?.shares ?? {})) {
      if (expiresAt >= before || unclaimed === 0) continue;
      const field = `credits.shares.${share}`;
      const taken = await this.updateKeyIf(
        { _id: id, [`${field}.unclaimed`]: unclaimed, [`${field}.expiresAt`]: expiresAt },
        { $inc: { "credits.remaining": unclaimed }, $set: { [`${field}.unclaimed`]: 0 } },
      );
      if (taken) returned += unclaimed;
    }
    return returned;
  }

  /**
   * One unconditional `$inc` by `_id`: the units granted are those that fell below the limit. As
   * increments of one document are applied one at a time, their totals before each are distinct
   * and consecutive, so exactly `limit` units are granted in all. (A conditional filter on the
   * count would also work, but mongo-java-server scans the collection for an upsert it cannot match.)
   */
  async reserveRateLimit(window: RateLimitWindow, units: number) {
    const reserve = () =>
      this.rateLimits.findOneAndUpdate(
        { _id: window.id },
        { $inc: { used: units }, $setOnInsert: { endsAt: window.endsAt } },
        { upsert: true, returnDocument: "after", projection: { used: 1 } },
      );
    // Two first reservations of a window can race to insert it; the loser's retry is an update.
    const counted = await reserve().catch((error: unknown) => {
      if (isDuplicateKey(error)) return reserve();
      throw error;
    });
    const before = counted!.used - units;
    return { granted: Math.max(0, Math.min(units, window.limit - before)), used: Math.min(counted!.used, window.limit) };
  }

  async pruneRequests(before: number) {
    await this.requests.collection.deleteMany({ startedAt: { $lt: before } });
  }

  async countRateLimits(windows: readonly RateLimitWindow[]) {
    const counts = new Map<string, number>();
    for (const { id, limit } of windows) {
      const counted = await this.rateLimits.findOne({ _id: id });
      if (counted) counts.set(id, Math.min(counted.used, limit));
    }
    return counts;
  }

  async pruneRateLimits(before: Date) {
    await this.rateLimits.deleteMany({ endsAt: { $lt: before } });
  }

  /**
   * One conditional update of a key; says whether the condition held. findOneAndUpdate rather
   * than updateOne: mongo-java-server finds the document by its _id index only for the former
   * when the filter has other conditions too (a scan of every key otherwise).
   */
  private async updateKeyIf(filter: Filter<StoredDocument>, update: UpdateFilter<StoredDocument>): Promise<boolean> {
    return (await this.keys.collection.findOneAndUpdate(filter, update, { projection: { _id: 1 } })) !== null;
  }

  async recordKeyUse(uses: readonly KeyUse[]) {
    if (uses.length === 0) return;
    await this.keys.collection.bulkWrite(
      // $max moves the time forward only; a filter of the id alone lets every server use its _id index.
      uses.map(({ id, at }) => ({ updateOne: { filter: { _id: id }, update: { $max: { lastUsedAt: at } } } })),
      { ordered: false },
    );
  }

  async appendAuditEvent(event: AuditEventRecord) {
    await this.auditEvents.insert(event);
  }

  async listAuditEvents(filter: AuditFilter, page: Page) {
    const query: Filter<StoredDocument> = { workspaceId: filter.workspaceId, ...afterFilter(page) };
    if (filter.actor !== undefined) query.actor = filter.actor;
    if (filter.action !== undefined) query.action = filter.action;
    if (filter.targetId !== undefined) query.targetIds = filter.targetId;
    if (filter.from !== undefined || filter.to !== undefined) {
      query.at = { ...(filter.from && { $gte: filter.from }), ...(filter.to && { $lt: filter.to }) };
    }
    const documents = await this.auditEvents.collection.find(query).sort({ _id: 1 }).limit(page.limit).toArray();
    return documents.map((document) => this.auditEvents.fromDocument(document)!);
  }

  /**
   * Takes the number after the highest stored, by inserting under it: the unique _id decides
   * between instances that try the same number, and the loser tries the next. (A counter document
   * moved with findOneAndUpdate would do, but not every server returns the incremented value
   * atomically: mongo-java-server handed two callers the same number.) A number is only ever
   * written after the one below it, so readers see no holes.
   */
  async appendChange(change: KeyChangeTarget & { at: Date }) {
    let seq = (await this.lastChangeSeq()) + 1;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.changes.insertOne({ _id: seq, ...change });
        return seq;
      } catch (error) {
        if (!isDuplicateKey(error) || attempt >= MAX_NUMBERING_ATTEMPTS) throw error;
        seq = Math.max(seq, await this.lastChangeSeq()) + 1;
      }
    }
  }

  async changesAfter(after: number, limit: number) {
    const documents = await this.changes.find({ _id: { $gt: after } }).sort({ _id: 1 }).limit(limit).toArray();
    return documents.map(({ _id, ...rest }) => ({ seq: _id, ...rest }));
  }

  async lastChangeSeq() {
    const [latest] = await this.changes.find({ _id: { $gt: 0 } }, { projection: { _id: 1 } }).sort({ _id: -1 }).limit(1).toArray();
    return latest?._id ?? 0;
  }

  /** The latest change is kept, however old: it carries the count on. */
  async pruneChanges(before: Date) {
    await this.changes.deleteMany({ at: { $lt: before }, _id: { $lt: await this.lastChangeSeq() } });
  }

  async close() {
    await this.client.close();
  }
}

/** Mirrors domain/key.ts keyStatus: revoked, then disabled, then expired. */
function statusFilter(status: KeyFilter["status"], now: Date): Filter<StoredDocument> {
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

/**
 * A DECREMENT as one guarded `$inc`: from the unshared balance, then from the shares, as planned
 * from the credits as read (the first attempt plans from the unshared balance alone).
 */
function decrementStep(live: Filter<StoredDocument>, credits: Pick<Credits, "remaining" | "shares">, value: number, refill: Record<string, unknown>): [Filter<StoredDocument>, UpdateFilter<StoredDocument>] {
  const plan = decrementPlan(credits, value);
  const filter: Filter<StoredDocument> = { ...live, "credits.remaining": { $gte: plan.remaining } };
  const take: Record<string, number> = { "credits.remaining": -plan.remaining };
  for (const [share, units] of Object.entries(plan.shares)) {
    filter[`credits.shares.${share}.unclaimed`] = { $gte: units };
    take[`credits.shares.${share}.unclaimed`] = -units;
  }
  return [filter, { $inc: take, ...setting(refill) }];
}

/** Every digest a key answers to, kept in its document for the per-workspace unique index. */
const digestsOf = (key: Pick<KeyRecord, "hash" | "previousSecret">) => (key.previousSecret ? [key.hash, key.previousSecret.hash] : [key.hash]);

const afterFilter = (page: Page) => (page.after === undefined ? {} : { _id: { $gt: page.after } });
