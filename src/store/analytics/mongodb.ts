import { type AnyBulkWriteOperation, type Collection, type Db, type Filter, MongoBulkWriteError } from "mongodb";
import { type AnalyticsRow, GRANULARITIES, type Granularity, type RowFilter, type RowScope } from "../../domain/analytics.js";
import { type AnalyticsStore, RowsNotWritten } from "./index.js";

type RowDocument = Omit<AnalyticsRow, "id" | "scope" | "granularity"> & { _id: string };

/** Two instances making the same row at once: one insert loses and is retried as an update. */
const MAX_UPSERT_ROUNDS = 3;
const DUPLICATE_KEY = 11000;
const INDEX_CHECK_MS = 3_600_000;

/**
 * A collection per scope and granularity (`analytics_hour`, `analytics_keyspace_hour`), so a
 * query reads, and a server without indexes for it scans, only the rows of its granularity.
 * Rows are upserted by `_id` with `$inc`, in unordered bulk writes: a lookup by `_id` is the one
 * every server serves from an index, even for an upsert that inserts. Retention is a TTL index
 * on `expiresAt` where the server expires documents, and `prune` everywhere.
 */
export class MongoAnalytics implements AnalyticsStore {
  private readonly collections = new Map<string, Collection<RowDocument>>();
  private indexesCheckedAt = Number.NEGATIVE_INFINITY;

  constructor(db: Db) {
    for (const scope of ["group", "keyspace"] as const) {
      for (const granularity of GRANULARITIES) this.collections.set(`${scope} ${granularity}`, db.collection(collectionName(scope, granularity)));
    }
  }

  /**
   * Creates missing indexes: at the first health check, then at most once an hour. The store's
   * health check runs every few seconds, and eight more collections' index checks each time would
   * add sixteen round trips to every check; an index lost with a database restored empty comes
   * back within the hour (queries are slower, never wrong, meanwhile).
   */
  async ensureIndexes() {
    if (Date.now() - this.indexesCheckedAt < INDEX_CHECK_MS) return;
    this.indexesCheckedAt = Date.now();
    for (const granularity of GRANULARITIES) {
      const ttl = { key: { expiresAt: 1 }, name: "expires_at", expireAfterSeconds: 0 };
      await this.collection("group", granularity).createIndexes([
        { key: { workspaceId: 1, time: 1 }, name: "workspace_time" },
        { key: { workspaceId: 1, keyId: 1, time: 1 }, name: "workspace_key_time" },
        ttl,
      ]);
      await this.collection("keyspace", granularity).createIndexes([{ key: { workspaceId: 1, keyspaceId: 1, time: 1 }, name: "workspace_keyspace_time" }, ttl]);
    }
  }

  async add(rows: readonly AnalyticsRow[]) {
    const byCollection = new Map<string, AnalyticsRow[]>();
    for (const row of rows) {
      const name = `${row.scope} ${row.granularity}`;
      let batch = byCollection.get(name);
      if (!batch) byCollection.set(name, (batch = []));
      batch.push(row);
    }
    const unwritten: string[] = [];
    let failure: unknown;
    for (const [name, batch] of byCollection) {
      try {
        unwritten.push(...(await this.upsert(this.collections.get(name)!, batch)));
      } catch (error) {
        if (error instanceof RowsNotWritten) unwritten.push(...error.rowIds);
        else failure ??= error;
      }
    }
    if (failure) throw failure;
    if (unwritten.length > 0) throw new RowsNotWritten(unwritten);
  }

  /** Returns the ids of rows the server refused; throws when it cannot say which were written. */
  private async upsert(collection: Collection<RowDocument>, rows: AnalyticsRow[]): Promise<string[]> {
    let pending = rows;
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
    return [...refused, ...pending.map((row) => row.id)];
  }

  async *rows(filter: RowFilter) {
    const query: Filter<RowDocument> = { workspaceId: filter.workspaceId, source: filter.source, time: { $gte: filter.from, $lt: filter.to } };
    if (filter.keyspaceIds) query.keyspaceId = { $in: [...filter.keyspaceIds] };
    if (filter.keyIds) query.keyId = { $in: [...filter.keyIds] };
    if (filter.externalIds) query.externalId = { $in: [...filter.externalIds] };
    if (filter.tags) query.tags = { $all: [...filter.tags] };
    const documents = this.collection(filter.scope, filter.granularity).find(query, { batchSize: 5000 }).sort({ time: 1 });
    for await (const { _id, ...document } of documents) yield { ...document, id: _id, scope: filter.scope, granularity: filter.granularity };
  }

  async prune(granularity: Granularity, before: Date) {
    for (const scope of ["group", "keyspace"] as const) await this.collection(scope, granularity).deleteMany({ time: { $lt: before } });
  }

  private collection(scope: RowScope, granularity: Granularity) {
    return this.collections.get(`${scope} ${granularity}`)!;
  }
}

const collectionName = (scope: RowScope, granularity: Granularity) => (scope === "group" ? `analytics_${granularity}` : `analytics_keyspace_${granularity}`);

function upsertOf(row: AnalyticsRow): AnyBulkWriteOperation<RowDocument> {
  const increments: Record<string, number> = { credits: row.credits };
  for (const [outcome, count] of Object.entries(row.outcomes)) increments[`outcomes.${outcome}`] = count;
  const { id, scope, granularity, outcomes, credits, ...fixed } = row;
  return { updateOne: { filter: { _id: id }, update: { $inc: increments, $setOnInsert: fixed }, upsert: true } };
}
