import type { RatelimitNamespaceRecord, RatelimitOverrideRecord } from "../../domain/ratelimit.js";
import type { RecordTable } from "../store.js";

/** A change to one cell of a rate-limit counter: units added, or given back when negative. */
export type CellChange = readonly [cell: number, units: number];

/**
 * What rate limiting as a service keeps (domain/ratelimit.ts, domain/sliding-window.ts). Like
 * the rest of the Store, every write is one single-document atomic operation; the contract in
 * test/store/ratelimits/contract.ts holds every adapter to it.
 */
export interface RatelimitStore {
  /** Unique: workspace and name. */
  readonly namespaces: RecordTable<RatelimitNamespaceRecord>;
  /** Unique: workspace, namespace and identifier. */
  readonly overrides: RecordTable<RatelimitOverrideRecord>;
  /** Removes every override of the namespace; returns how many. */
  deleteOverrides(workspaceId: string, namespace: string): Promise<number>;
  /**
   * One atomic step on a counter's record, made on first use: adds each change to its cell,
   * removes the `drop` cells, moves the record's expiry forward to `expiresAt` (never back), and
   * returns every cell's count after the step.
   */
  changeCells(record: string, changes: readonly CellChange[], drop: readonly number[], expiresAt: Date): Promise<Map<number, number>>;
  /** Every cell's count of each counter's record that exists, by record; a read, no step. */
  readCells(records: readonly string[]): Promise<Map<string, Map<number, number>>>;
  /** Drops counters whose expiry is before `before`. */
  pruneCounters(before: Date): Promise<void>;
}

/** Changes to the same cell, summed; drops of a cell that is changed, left out. */
export function mergedCellChanges(changes: readonly CellChange[], drop: readonly number[]): { changes: Map<number, number>; drop: number[] } {
  const merged = new Map<number, number>();
  for (const [cell, units] of changes) merged.set(cell, (merged.get(cell) ?? 0) + units);
  return { changes: merged, drop: drop.filter((cell) => !merged.has(cell)) };
}
