import { bucketStart, type Retention } from "../domain/analytics/buckets.js";
import { VERIFICATION_SOURCE } from "../domain/analytics/counts.js";
import { addDocument, type AnalyticsDocument, documentRetention, documentsByKind, documentsOf } from "../domain/analytics/documents.js";
import type { Logger } from "../observability/log.js";
import { DocumentsNotWritten } from "../store/analytics/index.js";
import type { Store } from "../store/store.js";
import { MinuteCounts } from "./analytics-minute-counts.js";
import { forEachChunk } from "./chunks.js";
import type { VerifyRequest, VerifyResult } from "./verifier.js";

export interface AnalyticsOptions {
  enabled: boolean;
  /** Counts are written at least this often, and once more on shutdown. */
  flushMs: number;
  /** Distinct groups a workspace may open per minute on one instance; further tag sets are counted as one overflow group. */
  maxGroupsPerMinute: number;
  retention: Retention;
}

export interface AnalyticsFigures {
  rowsWritten(count: number): void;
  flushFailed(): void;
  rowsDropped(count: number): void;
}

/** Documents written per store call: each call is bounded by the store timeout, so none may be long. */
const DOCUMENTS_PER_WRITE = 100;
/**
 * Counts turned into documents in one go: a flush of many groups is done in steps of this many,
 * with the event loop free between them (forEachChunk), so that verifications are answered while it runs rather
 * than after it: a flush of every key of a large keyspace, in one piece, stalled every answer behind it.
 */
const COUNTS_PER_STEP = 500;
/** Documents kept for a retry while the store fails; past this, new failures are dropped (and counted). */
const MAX_UNWRITTEN_DOCUMENTS = 250_000;
/**
 * Keys (or identifiers) one instance gives their own entry in a keyspace's (or namespace's) day
 * document: what keeps that document far below MongoDB's 16 MB with many instances. Further keys
 * are counted in the totals only, and queries by key read that day's group documents instead.
 */
export const MAX_KEY_ENTRIES_PER_DAY = 10_000;
/** How often rows past their retention are removed, for stores without TTL expiry. */
const PRUNE_EVERY_MS = 3_600_000;

const NO_TAGS: readonly string[] = [];

/**
 * Counts events in memory by group and minute and writes them in batches every `flushMs`, as
 * `$inc`s of day and month documents (domain/analytics/documents.ts): the writes grow with the groups a
 * flush holds, never with the event rate. Counting is analytics-minute-counts.ts's.
 * A batch the store refuses is kept and added to the next one; stopping writes everything, so a
 * process that is killed loses at most what it counted since its last flush.
 */
export class AnalyticsRecorder {
  private readonly counts: MinuteCounts;
  private unwritten = new Map<string, AnalyticsDocument>();
  /** By keyspace day document: the keys given an entry in it, for `MAX_KEY_ENTRIES_PER_DAY`. */
  private keyEntries = new Map<string, { day: number; keys: Set<string> }>();
  private flushTimer: NodeJS.Timeout | undefined;
  private stopped = true;
  private pruneTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly options: AnalyticsOptions & { now: () => number; log: Logger; figures?: AnalyticsFigures },
  ) {
    this.counts = new MinuteCounts(options.maxGroupsPerMinute);
  }

  /** A verification's outcome, under its key (or, for an unknown secret, the caller's workspace). */
  recordVerification(request: VerifyRequest, result: VerifyResult) {
    const key = result.key?.record;
    const tags = request.tags ?? NO_TAGS;
    if (!key) {
      this.count(VERIFICATION_SOURCE, request.workspaceId, "", "", "", result.verdict, tags, 0);
      return;
    }
    const spent = result.verdict === "valid" && key.credits ? request.cost : 0;
    this.count(VERIFICATION_SOURCE, key.workspaceId, key.keyspaceId, key.id, key.externalId, result.verdict, tags, spent);
  }

  /** One event. Outcome names become stored field names: lowercase letters and underscores only. */
  count(source: string, workspaceId: string, keyspaceId: string, keyId: string, externalId: string, outcome: string, tags: readonly string[], credits: number) {
    this.counts.count(bucketStart("minute", this.options.now()), source, workspaceId, keyspaceId, keyId, externalId, outcome, tags, credits);
  }

  /**
   * One limit of a Limit or MultiLimit decision, `passed` when the request went ahead. Identifiers
   * are the caller's to choose: each one counts against the workspace's budget of groups, and those
   * beyond it are counted in the namespace's overflow group, without their identifier.
   */
  recordLimit(workspaceId: string, namespace: string, identifier: string, passed: boolean) {
    this.counts.countLimit(bucketStart("minute", this.options.now()), workspaceId, namespace, identifier, passed);
  }

  start() {
    this.stopped = false;
    this.scheduleFlush();
    this.pruneTimer = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
    this.pruneTimer.unref();
  }

  async stop() {
    this.stopped = true;
    clearTimeout(this.flushTimer);
    clearInterval(this.pruneTimer);
    await this.flush();
  }

  /**
   * The next flush starts `flushMs` after the last one ended, not on a fixed beat: a store slower
   * than the counting gets that long without analytics writes between batches, for the
   * verification path's reads, and each batch coalesces what was counted meanwhile.
   */
  private scheduleFlush() {
    this.flushTimer = setTimeout(() => {
      void this.flush().finally(() => {
        if (!this.stopped) this.scheduleFlush();
      });
    }, this.options.flushMs);
    this.flushTimer.unref();
  }

  /** Writes everything counted so far, with whatever an earlier flush could not write. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const counts = this.counts.drain();
      const documents = this.unwritten;
      this.unwritten = new Map();
      this.forgetKeyEntriesBefore(bucketStart("day", this.options.now()) - 86_400_000);
      await forEachChunk(counts, COUNTS_PER_STEP, async (slice) => {
        for (const document of documentsOf(slice, this.options.retention, (day, keyId) => this.admitsKey(day, keyId))) {
          const earlier = documents.get(document.id);
          if (earlier) addDocument(earlier, document);
          else documents.set(document.id, document);
        }
      });
      await forEachChunk(byKind(documents.values()), DOCUMENTS_PER_WRITE, (documents) => this.write(documents));
    });
    return this.flushing;
  }

  /**
   * Drops what is past its retention: day documents' minutes, then hours, then the day documents
   * (kept as long as the longest of the three), and month documents. Where MongoDB expires
   * documents itself, the last two find few.
   */
  async prune() {
    const now = this.options.now();
    const { retention } = this.options;
    const before = (period: "day" | "month", ms: number) => new Date(bucketStart(period, now - ms));
    const steps: [string, () => Promise<void>][] = [
      ["minute", () => this.store.analytics.pruneFields("minutes", before("day", retention.minute))],
      ["hour", () => this.store.analytics.pruneFields("hours", before("day", retention.hour))],
      ["day", () => this.store.analytics.prune("day", before("day", documentRetention("day", retention)))],
      ["month", () => this.store.analytics.prune("month", before("month", retention.month))],
    ];
    for (const [granularity, step] of steps) {
      try {
        await step();
      } catch (error) {
        this.options.log.warn("pruning analytics failed", { granularity, error: String(error) });
      }
    }
  }

  private async write(documents: AnalyticsDocument[]) {
    try {
      await this.store.analytics.add(documents);
      this.options.figures?.rowsWritten(documents.length);
    } catch (error) {
      // Documents the store names as refused were not written; after any other failure it cannot
      // be known which were, and all are tried again.
      const refused = error instanceof DocumentsNotWritten ? new Set(error.documentIds) : undefined;
      const retried = refused ? documents.filter((document) => refused.has(document.id)) : documents;
      this.options.figures?.rowsWritten(documents.length - retried.length);
      this.options.figures?.flushFailed();
      this.options.log.warn("writing analytics failed; retrying with the next flush", { documents: retried.length, error: String(error) });
      this.keepForRetry(retried);
    }
  }

  private keepForRetry(documents: AnalyticsDocument[]) {
    let dropped = 0;
    for (const document of documents) {
      const earlier = this.unwritten.get(document.id);
      if (earlier) addDocument(earlier, document);
      else if (this.unwritten.size < MAX_UNWRITTEN_DOCUMENTS) this.unwritten.set(document.id, document);
      else dropped++;
    }
    if (dropped > 0) this.options.figures?.rowsDropped(dropped);
  }

  private admitsKey(day: AnalyticsDocument, keyId: string) {
    let entries = this.keyEntries.get(day.id);
    if (!entries) this.keyEntries.set(day.id, (entries = { day: day.time.getTime(), keys: new Set() }));
    if (entries.keys.has(keyId)) return true;
    if (entries.keys.size >= MAX_KEY_ENTRIES_PER_DAY) return false;
    entries.keys.add(keyId);
    return true;
  }

  private forgetKeyEntriesBefore(day: number) {
    for (const [id, entries] of this.keyEntries) if (entries.day < day) this.keyEntries.delete(id);
  }
}

/**
 * The documents of each kind (scope and period) together, so that a store call holds one kind
 * except where two meet: a store keeping kinds apart (MongoDB, a collection each) then writes a
 * call in one bulk write rather than one per kind, and a flush makes half as many.
 */
function byKind(documents: Iterable<AnalyticsDocument>): AnalyticsDocument[] {
  return [...documentsByKind(documents).values()].flat();
}
