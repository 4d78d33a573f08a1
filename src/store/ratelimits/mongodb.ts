import type { Collection, Db } from "mongodb";
import type { RatelimitNamespaceRecord, RatelimitOverrideRecord } from "../../domain/ratelimit.js";
import { isDuplicateKey, MongoTable } from "../tables/mongodb.js";
import { type CellChange, mergedCellChanges, type RatelimitStore } from "./index.js";

/** A counter's cells are fields `cells.c<index>`: a field name, never an array position. */
type CounterDocument = { _id: string; expiresAt: Date; cells?: Record<string, number> };

const cellField = (cell: number) => `cells.c${cell}`;

function cellsOf(counter: Pick<CounterDocument, "cells"> | null) {
  const cells = new Map<number, number>();
  for (const [field, count] of Object.entries(counter?.cells ?? {})) cells.set(Number(field.slice(1)), count);
  return cells;
}

/** Rate limiting's records in MongoDB. */
export class MongoRatelimits implements RatelimitStore {
  readonly namespaces: MongoTable<RatelimitNamespaceRecord>;
  readonly overrides: MongoTable<RatelimitOverrideRecord>;
  private readonly counters: Collection<CounterDocument>;

  constructor(db: Db) {
    this.namespaces = new MongoTable(db, "ratelimit_namespaces", "rate-limit namespace");
    this.overrides = new MongoTable(db, "ratelimit_overrides", "rate-limit override");
    this.counters = db.collection("ratelimit_counters");
  }

  async ensureIndexes() {
    await this.namespaces.collection.createIndex({ workspaceId: 1, name: 1 }, { name: "workspace_name_unique", unique: true });
    await this.overrides.collection.createIndex(
      { workspaceId: 1, namespace: 1, identifier: 1 },
      { name: "workspace_namespace_identifier_unique", unique: true },
    );
    await this.overrides.collection.createIndex({ workspaceId: 1, namespace: 1, _id: 1 }, { name: "workspace_namespace" });
    await this.counters.createIndex({ expiresAt: 1 }, { name: "expires_at" });
  }

  async deleteOverrides(workspaceId: string, namespace: string) {
    return (await this.overrides.collection.deleteMany({ workspaceId, namespace })).deletedCount;
  }

  /** One unconditional update by `_id`, so every server finds the record by its index and applies the steps one at a time. */
  async changeCells(record: string, changes: readonly CellChange[], drop: readonly number[], expiresAt: Date) {
    const merged = mergedCellChanges(changes, drop);
    const update = {
      $max: { expiresAt },
      ...(merged.changes.size > 0 && { $inc: Object.fromEntries([...merged.changes].map(([cell, units]) => [cellField(cell), units])) }),
      ...(merged.drop.length > 0 && { $unset: Object.fromEntries(merged.drop.map((cell) => [cellField(cell), "" as const])) }),
    };
    const step = () => this.counters.findOneAndUpdate({ _id: record }, update, { upsert: true, returnDocument: "after", projection: { cells: 1 } });
    // Two first steps on a counter can race to insert it; the loser's retry is an update.
    const after = await step().catch((error: unknown) => {
      if (isDuplicateKey(error)) return step();
      throw error;
    });
    return cellsOf(after);
  }

  async readCells(records: readonly string[]) {
    const found = new Map<string, Map<number, number>>();
    if (records.length === 0) return found;
    for (const counter of await this.counters.find({ _id: { $in: [...records] } }, { projection: { cells: 1 } }).toArray())
      found.set(counter._id, cellsOf(counter));
    return found;
  }

  async pruneCounters(before: Date) {
    await this.counters.deleteMany({ expiresAt: { $lt: before } });
  }
}
