import { addCounts, type AnalyticsRow, type Granularity, type RowFilter, rowMatches } from "../../domain/analytics.js";
import type { AnalyticsStore } from "./index.js";

export class MemoryAnalytics implements AnalyticsStore {
  private readonly stored = new Map<string, AnalyticsRow>();

  async add(rows: readonly AnalyticsRow[]) {
    for (const row of rows) {
      const existing = this.stored.get(row.id);
      if (existing) addCounts(existing, row);
      else this.stored.set(row.id, structuredClone(row));
    }
  }

  async *rows(filter: RowFilter) {
    const matching = [...this.stored.values()].filter((row) => rowMatches(row, filter)).sort((a, b) => a.time.getTime() - b.time.getTime());
    for (const row of matching) yield structuredClone(row);
  }

  async prune(granularity: Granularity, before: Date) {
    for (const [id, row] of this.stored) if (row.granularity === granularity && row.time < before) this.stored.delete(id);
  }
}
