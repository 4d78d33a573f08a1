import { type DocumentFilter, documentMatches, PARTS_LEFT_OUT } from "../../domain/analytics/document-filter.js";
import { addDocument, type AnalyticsDocument, type DocumentPeriod } from "../../domain/analytics/documents.js";
import type { AnalyticsStore } from "./index.js";

export class MemoryAnalytics implements AnalyticsStore {
  private readonly stored = new Map<string, AnalyticsDocument>();

  async add(documents: readonly AnalyticsDocument[]) {
    for (const document of documents) {
      const existing = this.stored.get(document.id);
      if (existing) addDocument(existing, document);
      else this.stored.set(document.id, structuredClone(document));
    }
  }

  async *documents(filter: DocumentFilter) {
    const matching = [...this.stored.values()].filter((document) => documentMatches(document, filter)).sort((a, b) => a.time.getTime() - b.time.getTime());
    for (const document of matching) {
      const copy = structuredClone(document);
      for (const part of PARTS_LEFT_OUT[filter.part]) delete copy[part];
      yield copy;
    }
  }

  async prune(period: DocumentPeriod, before: Date) {
    for (const [id, document] of this.stored) if (document.period === period && document.time < before) this.stored.delete(id);
  }

  async pruneFields(part: "hours" | "minutes", before: Date) {
    for (const document of this.stored.values()) if (document.period === "day" && document.time < before) delete document[part];
  }
}
