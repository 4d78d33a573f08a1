import { type AnyBulkWriteOperation, type Collection, type Db, type Filter, type IndexDescription, MongoBulkWriteError } from "mongodb";
import type { Counts } from "../../domain/analytics/counts.js";
import { type DocumentFilter, type DocumentPart, exactIdsOf, PARTS_LEFT_OUT } from "../../domain/analytics/document-filter.js";
import { type AnalyticsDocument, type DocumentPeriod, type DocumentScope, documentsByKind, kindOf } from "../../domain/analytics/documents.js";
import { type AnalyticsStore, DocumentsNotWritten } from "./index.js";
import { keysDocumentOf } from "./keys-document.js";

/**
 * As stored: the domain's document without what its collection and `_id` say, and with `credits`
 * left out of every count that spent none (upsertOf never increments a counter by zero).
 */
type StoredDocument = Omit<AnalyticsDocument, "id" | "scope" | "period"> & { _id: string };

/** Two instances making the same document at once: one insert loses and is retried as an update. */
const MAX_UPSERT_ROUNDS = 3;
const DUPLICATE_KEY = 11000;
const INDEX_CHECK_MS = 3_600_000;
/** The day documents of each scope and the month documents of groups and keyspaces: `keys` are by day only. */
const COLLECTIONS: readonly [DocumentScope, DocumentPeriod][] = [
  ["group", "day"],
  ["group", "month"],
  ["keyspace", "day"],
  ["keyspace", "month"],
  ["keys", "day"],
];
/**
 * Documents fetched per round trip, by the part read: a page of an answer stops reading early,
 * and what was fetched beyond it is wasted, so large parts come a few at a time.
 */
const BATCH_SIZE: Record<Exclude<DocumentPart, "keys">, number> = { totals: 1000, hours: 100, minutes: 10 };
/** Ids looked up per round trip, for the same reason: `keys` documents are the largest, one at a time. */
const IDS_PER_READ: Record<DocumentPart, number> = { ...BATCH_SIZE, keys: 1 };

/**
 * A collection per scope and period (`analytics_group_days`, `analytics_keyspace_months`), so a
 * query reads, and a server without indexes for it scans, only the documents of its kind.
 * Documents are upserted by `_id` with `$inc` on every counter they carry (`hours.h07.outcomes.valid`),
 * in unordered bulk writes: a lookup by `_id` is the one every server serves from an index, even
 * for an upsert that inserts. A read leaves the parts it does not need (minutes, hours, keys) on
 * the server. Retention is a TTL index on `expiresAt` where the server expires documents, and
 * `prune` everywhere.
 */
export class MongoAnalytics implements AnalyticsStore {
  private readonly collections = new Map<string, Collection<StoredDocument>>();
  private indexesCheckedAt = Number.NEGATIVE_INFINITY;

  constructor(db: Db) {
    for (const [scope, period] of COLLECTIONS) this.collections.set(kindOf(scope, period), db.collection(`analytics_${scope}_${period}s`));
  }

  /**
   * Creates missing indexes: at the first health check, then at most once an hour. The store's
   * health check runs every few seconds, and five more collections' index checks each time would
   * add ten round trips to every check; an index lost with a database restored empty comes
   * back within the hour (queries are slower, never wrong, meanwhile).
   */
  async ensureIndexes() {
    if (Date.now() - this.indexesCheckedAt < INDEX_CHECK_MS) return;
    this.indexesCheckedAt = Date.now();
    const ttl = { key: { expiresAt: 1 }, name: "expires_at", expireAfterSeconds: 0 };
    for (const [scope, period] of COLLECTIONS) {
      const indexes: IndexDescription[] =
        scope === "group"
          ? [
              { key: { workspaceId: 1, time: 1 }, name: "workspace_time" },
              { key: { workspaceId: 1, keyId: 1, time: 1 }, name: "workspace_key_time" },
            ]
          : [{ key: { workspaceId: 1, keyspaceId: 1, time: 1 }, name: "workspace_keyspace_time" }];
      await this.collection(scope, period).createIndexes([...indexes, ttl]);
    }
  }

  async add(documents: readonly AnalyticsDocument[]) {
    const byCollection = documentsByKind(documents);
    const unwritten: string[] = [];
    let failure: unknown;
    for (const [name, batch] of byCollection) {
      try {
        unwritten.push(...(await this.upsert(this.collections.get(name)!, batch)));
      } catch (error) {
        if (error instanceof DocumentsNotWritten) unwritten.push(...error.documentIds);
        else failure ??= error;
      }
    }
    if (failure) throw failure;
    if (unwritten.length > 0) throw new DocumentsNotWritten(unwritten);
  }

  /** Returns the ids of documents the server refused; throws when it cannot say which were written. */
  private async upsert(collection: Collection<StoredDocument>, documents: AnalyticsDocument[]): Promise<string[]> {
    let pending = documents;
    const refused: string[] = [];
    for (let round = 1; pending.length > 0 && round <= MAX_UPSERT_ROUNDS; round++) {
      try {
        await collection.bulkWrite(pending.map(upsertOf), { ordered: false });
        pending = [];
      } catch (error) {
        const failed = error instanceof MongoBulkWriteError ? [error.writeErrors].flat() : [];
        if (failed.length === 0) throw error;
        refused.push(...failed.filter((writeError) => writeError.code !== DUPLICATE_KEY).map((writeError) => pending[writeError.index]!.id));
        pending = failed.filter((writeError) => writeError.code === DUPLICATE_KEY).map((writeError) => pending[writeError.index]!);
      }
    }
    return [...refused, ...pending.map((document) => document.id)];
  }

  async *documents(filter: DocumentFilter) {
    const collection = this.collection(filter.scope, filter.period);
    const left = PARTS_LEFT_OUT[filter.part].filter((part) => partsHeld(filter.scope, filter.period).includes(part));
    const projection = left.length > 0 ? Object.fromEntries(left.map((part) => [part, 0])) : undefined;
    const asRead = ({ _id, ...document }: StoredDocument) =>
      withCredits({ ...document, id: _id, scope: filter.scope, period: filter.period } as AnalyticsDocument);
    const keyEntries = filter.scope === "keys" && filter.part === "keys";
    const exact = exactIdsOf(filter);
    if (exact) {
      // Found by `_id` alone, the lookup every server answers from an index (mongo-java-server
      // scans the collection for any other query), a batch of periods at a time, in time order.
      // The first lookup asks for two ids, each next one for twice as many, up to the part's
      // batch: a page of keys stops after two days, a long range takes few round trips.
      const timeOf = new Map(exact.map(({ id, time }) => [id, time]));
      const most = IDS_PER_READ[filter.part];
      for (let from = 0, size = Math.min(2, most); from < exact.length; from += size, size = Math.min(2 * size, most)) {
        const ids = exact.slice(from, from + size).map(({ id }) => id);
        const byId = { _id: { $in: ids } };
        const documents = keyEntries ? await this.keysDocuments(collection, byId) : await collection.find(byId, { projection }).toArray();
        documents.sort((a, b) => timeOf.get(a._id)! - timeOf.get(b._id)!);
        for (const document of documents) yield asRead(document);
      }
      return;
    }
    const query: Filter<StoredDocument> = { workspaceId: filter.workspaceId, source: filter.source, time: { $gte: filter.from, $lt: filter.to } };
    if (filter.keyspaceIds) query.keyspaceId = { $in: [...filter.keyspaceIds] };
    if (filter.scope === "group") {
      if (filter.keyIds) query.keyId = { $in: [...filter.keyIds] };
      if (filter.externalIds) query.externalId = { $in: [...filter.externalIds] };
      if (filter.tags) query.tags = { $all: [...filter.tags] };
    }
    if (filter.part !== "keys") {
      for await (const document of collection.find(query, { projection, batchSize: BATCH_SIZE[filter.part] }).sort({ time: 1 })) yield asRead(document);
      return;
    }
    // A server sorting without an index (mongo-java-server) handles every matching document whole
    // before answering; the ids come sorted first, then each large document as the reader gets to it.
    for await (const { _id } of collection.find(query, { projection: { _id: 1, time: 1 } }).sort({ time: 1 })) {
      const document = keyEntries ? (await this.keysDocuments(collection, { _id }))[0] : await collection.findOne({ _id }, { projection });
      if (document) yield asRead(document);
    }
  }

  /**
   * `keys` documents with their key entries, read as BSON and made into documents by
   * keysDocumentOf, which reads the entries for less than the driver. Read whole: `keys`
   * documents hold no other part.
   */
  private async keysDocuments(collection: Collection<StoredDocument>, filter: Filter<StoredDocument>): Promise<StoredDocument[]> {
    const raw = (await collection.find(filter, { raw: true }).toArray()) as unknown as Uint8Array[];
    return raw.map((bytes) => keysDocumentOf(bytes) as StoredDocument);
  }

  async prune(period: DocumentPeriod, before: Date) {
    for (const [scope, of] of COLLECTIONS) if (of === period) await this.collection(scope, period).deleteMany({ time: { $lt: before } });
  }

  async pruneFields(part: "hours" | "minutes", before: Date) {
    for (const scope of ["group", "keyspace"] as const)
      await this.collection(scope, "day").updateMany({ time: { $lt: before }, [part]: { $exists: true } }, { $unset: { [part]: "" } });
  }

  private collection(scope: DocumentScope, period: DocumentPeriod) {
    return this.collections.get(kindOf(scope, period))!;
  }
}

/**
 * The parts beyond totals that documents of a collection can hold (documentsOf): a projection
 * names only those, since mongo-java-server copies every document a projection applies to, and
 * a `keys` document is large.
 */
function partsHeld(scope: DocumentScope, period: DocumentPeriod): readonly DocumentPart[] {
  if (scope === "keys") return ["keys"];
  return period === "day" ? ["hours", "minutes"] : [];
}

function upsertOf(document: AnalyticsDocument): AnyBulkWriteOperation<StoredDocument> {
  const increments: Record<string, number> = {};
  addIncrements(increments, "", document);
  for (const part of ["hours", "minutes"] as const) {
    const fields = document[part];
    if (fields) for (const field in fields) addIncrements(increments, `${part}.${field}.`, fields[field]!);
  }
  for (const [field, counts] of document.keys ?? []) addIncrements(increments, `keys.${field}.`, counts);
  const { source, workspaceId, keyspaceId, keyId, externalId, tags, overflow, time, expiresAt } = document;
  // A keys document that only marks its day as past the key budget has nothing to increment, and
  // MongoDB before 5.0 refuses an empty `$inc`.
  const update = {
    ...(Object.keys(increments).length > 0 ? { $inc: increments } : {}),
    $setOnInsert: { source, workspaceId, keyspaceId, keyId, externalId, tags, overflow, time, expiresAt },
    ...(document.keysOverflowed ? { $set: { keysOverflowed: true } } : {}),
  };
  return { updateOne: { filter: { _id: document.id }, update, upsert: true } };
}

/**
 * Only counters that grow: a `$inc` of zero would still cost the server a field to apply and keep
 * in every total, hour and minute, and most verifications spend no credits.
 */
function addIncrements(increments: Record<string, number>, prefix: string, counts: Counts) {
  if (counts.credits !== 0) increments[`${prefix}credits`] = counts.credits;
  for (const outcome in counts.outcomes) increments[`${prefix}outcomes.${outcome}`] = counts.outcomes[outcome]!;
}

/** A document as the domain has it: `credits` is 0 wherever none were stored. */
function withCredits(document: AnalyticsDocument): AnalyticsDocument {
  document.credits ??= 0;
  for (const part of ["hours", "minutes"] as const) {
    const fields = document[part];
    if (fields) for (const field in fields) fields[field]!.credits ??= 0;
  }
  if (document.keys) for (const counts of document.keys.values()) counts.credits ??= 0;
  return document;
}
