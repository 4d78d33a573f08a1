import type { RatelimitNamespaceRecord, RatelimitOverrideRecord } from "../../domain/ratelimit.js";
import { MemoryTable } from "../tables/memory.js";
import { type CellChange, mergedCellChanges, type RatelimitStore } from "./index.js";

/** Rate limiting's records in this process. */
export class MemoryRatelimits implements RatelimitStore {
  readonly namespaces = new MemoryTable<RatelimitNamespaceRecord>("rate-limit namespace", [["workspaceId", "name"]]);
  readonly overrides = new MemoryTable<RatelimitOverrideRecord>("rate-limit override", [["workspaceId", "namespace", "identifier"]]);
  private readonly counters = new Map<string, { cells: Map<number, number>; expiresAt: Date }>();

  async deleteOverrides(workspaceId: string, namespace: string) {
    const doomed = [...this.overrides.all()].filter((override) => override.workspaceId === workspaceId && override.namespace === namespace);
    for (const override of doomed) await this.overrides.delete({ id: override.id });
    return doomed.length;
  }

  async changeCells(record: string, changes: readonly CellChange[], drop: readonly number[], expiresAt: Date) {
    let counter = this.counters.get(record);
    if (!counter) {
      counter = { cells: new Map(), expiresAt };
      this.counters.set(record, counter);
    }
    const merged = mergedCellChanges(changes, drop);
    for (const [cell, units] of merged.changes) counter.cells.set(cell, (counter.cells.get(cell) ?? 0) + units);
    for (const cell of merged.drop) counter.cells.delete(cell);
    if (expiresAt > counter.expiresAt) counter.expiresAt = expiresAt;
    return new Map(counter.cells);
  }

  async readCells(records: readonly string[]) {
    const found = new Map<string, Map<number, number>>();
    for (const record of records) {
      const counter = this.counters.get(record);
      if (counter) found.set(record, new Map(counter.cells));
    }
    return found;
  }

  async pruneCounters(before: Date) {
    for (const [record, counter] of this.counters) if (counter.expiresAt < before) this.counters.delete(record);
  }
}
