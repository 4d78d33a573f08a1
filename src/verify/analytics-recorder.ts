import { type AnalyticsRow, addCounts, bucketStart, GRANULARITIES, type MinuteCount, type Retention, rollUp } from "../domain/analytics.js";
import type { Logger } from "../observability/log.js";
import { RowsNotWritten } from "../store/analytics/index.js";
import type { Store } from "../store/store.js";
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

/** The source verifications are counted under; other counters (rate limits) name their own. */
export const VERIFICATION_SOURCE = "verification";

/** Rows written per store call: each call is bounded by the store timeout, so none may be long. */
const ROWS_PER_WRITE = 1000;
/** Rows kept for a retry while the store fails; past this, new failures are dropped (and counted). */
const MAX_UNWRITTEN_ROWS = 1_000_000;
/** How often rows past their retention are removed, for stores without TTL expiry. */
const PRUNE_EVERY_MS = 3_600_000;

const NO_TAGS: readonly string[] = [];

interface MinuteGroups {
  /** By key (or, for events without one, source, workspace and keyspace), then external id, then tag set. */
  groups: Map<string, Map<string, TagNode>>;
}

/**
 * A key's groups by tag set, one tag per level, in sorted order: finding a group costs a lookup per
 * tag and builds no string. The root holds the group without tags, and the overflow group.
 */
interface TagNode {
  next?: Map<string, TagNode>;
  group?: MinuteCount;
  overflow?: MinuteCount;
}

/** The tags sorted and without repeats: the input itself when it already is, as it usually is. */
function sortedTags(tags: readonly string[]): readonly string[] {
  for (let i = 1; i < tags.length; i++) if (tags[i - 1]! >= tags[i]!) return [...new Set(tags)].sort();
  return tags;
}

/**
 * Counts events in memory by group and minute and writes them in batches every `flushMs`, as
 * `$inc`s of rolled-up rows (domain/analytics.ts): the writes grow with the groups a flush holds,
 * never with the event rate. A count is a map lookup per level (key, external id, each tag) and an
 * increment, on the verification path.
 * A batch the store refuses is kept and added to the next one; stopping writes everything, so a
 * process that is killed loses at most what it counted since its last flush.
 */
export class AnalyticsRecorder {
  private pending = new Map<number, MinuteGroups>();
  private currentMinute = Number.NaN;
  private current: MinuteGroups = { groups: new Map() };
  /** The groups opened in `budgetMinute`, across flushes, and how many per workspace. */
  private budgetMinute = Number.NaN;
  private readonly openedGroups = new Set<string>();
  private readonly opened = new Map<string, number>();
  private unwritten = new Map<string, AnalyticsRow>();
  private flushTimer: NodeJS.Timeout | undefined;
  private stopped = true;
  private pruneTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly options: AnalyticsOptions & { now: () => number; log: Logger; figures?: AnalyticsFigures },
  ) {}

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
    const minute = bucketStart("minute", this.options.now());
    if (minute !== this.currentMinute) this.enterMinute(minute);
    // A key's id names its workspace and keyspace, and is the same string every time, so its hash is computed once.
    const primary = keyId !== "" && source === VERIFICATION_SOURCE ? keyId : `${source}\0${workspaceId}\0${keyspaceId}\0${keyId}`;
    let byIdentity = this.current.groups.get(primary);
    if (!byIdentity) this.current.groups.set(primary, (byIdentity = new Map()));
    let root = byIdentity.get(externalId);
    if (!root) byIdentity.set(externalId, (root = {}));
    const sorted = sortedTags(tags);
    let node: TagNode | undefined = root;
    for (let i = 0; node && i < sorted.length; i++) node = node.next?.get(sorted[i]!);
    const group = node?.group ?? this.openGroup(root, { source, workspaceId, keyspaceId, keyId, externalId, tags: sorted, minute });
    group.outcomes[outcome] = (group.outcomes[outcome] ?? 0) + 1;
    group.credits += credits;
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
      const counts = [...this.pending.values()].flatMap((minute) =>
        [...minute.groups.values()].flatMap((byIdentity) => [...byIdentity.values()].flatMap((root) => groupsUnder(root))),
      );
      this.pending = new Map();
      this.currentMinute = Number.NaN;
      const rows = this.unwritten;
      this.unwritten = new Map();
      for (const row of rollUp(counts, this.options.retention)) {
        const earlier = rows.get(row.id);
        if (earlier) addCounts(earlier, row);
        else rows.set(row.id, row);
      }
      const batch = [...rows.values()];
      for (let from = 0; from < batch.length; from += ROWS_PER_WRITE) await this.write(batch.slice(from, from + ROWS_PER_WRITE));
    });
    return this.flushing;
  }

  /** Drops rows past their retention; where MongoDB expires them itself, this finds few. */
  async prune() {
    const now = this.options.now();
    for (const granularity of GRANULARITIES) {
      try {
        await this.store.analytics.prune(granularity, new Date(bucketStart(granularity, now - this.options.retention[granularity])));
      } catch (error) {
        this.options.log.warn("pruning analytics failed", { granularity, error: String(error) });
      }
    }
  }

  private async write(rows: AnalyticsRow[]) {
    try {
      await this.store.analytics.add(rows);
      this.options.figures?.rowsWritten(rows.length);
    } catch (error) {
      // Rows the store names as refused were not written; after any other failure it cannot be
      // known which were, and all are tried again.
      const retried = error instanceof RowsNotWritten ? rows.filter((row) => error.rowIds.includes(row.id)) : rows;
      this.options.figures?.rowsWritten(rows.length - retried.length);
      this.options.figures?.flushFailed();
      this.options.log.warn("writing analytics failed; retrying with the next flush", { rows: retried.length, error: String(error) });
      this.keepForRetry(retried);
    }
  }

  private keepForRetry(rows: AnalyticsRow[]) {
    let dropped = 0;
    for (const row of rows) {
      const earlier = this.unwritten.get(row.id);
      if (earlier) addCounts(earlier, row);
      else if (this.unwritten.size < MAX_UNWRITTEN_ROWS) this.unwritten.set(row.id, row);
      else dropped++;
    }
    if (dropped > 0) this.options.figures?.rowsDropped(dropped);
  }

  private enterMinute(minute: number) {
    this.currentMinute = minute;
    let groups = this.pending.get(minute);
    if (!groups) this.pending.set(minute, (groups = { groups: new Map() }));
    this.current = groups;
    if (minute !== this.budgetMinute) {
      this.budgetMinute = minute;
      this.openedGroups.clear();
      this.opened.clear();
    }
  }

  /**
   * A new group of the minute, within the workspace's budget. Past the budget, a tagged event is
   * counted in its key's overflow group instead, which keeps everything but its tags; groups without
   * tags are bounded by the workspace's keys and are always opened.
   */
  private openGroup(root: TagNode, event: Omit<MinuteCount, "outcomes" | "credits" | "overflow" | "tags"> & { tags: readonly string[] }): MinuteCount {
    const tagSet = JSON.stringify(event.tags);
    const groupKey = `${event.source}\0${event.workspaceId}\0${event.keyspaceId}\0${event.keyId}\0${event.externalId}\0${tagSet}`;
    const known = this.openedGroups.has(groupKey);
    const opened = this.opened.get(event.workspaceId) ?? 0;
    if (event.tags.length > 0 && !known && opened >= this.options.maxGroupsPerMinute) {
      return (root.overflow ??= { ...event, tags: [], overflow: true, outcomes: {}, credits: 0 });
    }
    if (!known) {
      this.openedGroups.add(groupKey);
      this.opened.set(event.workspaceId, opened + 1);
    }
    let node = root;
    for (const tag of event.tags) {
      let next = node.next?.get(tag);
      if (!next) (node.next ??= new Map()).set(tag, (next = {}));
      node = next;
    }
    return (node.group ??= { ...event, tags: [...event.tags], overflow: false, outcomes: {}, credits: 0 });
  }}

function groupsUnder(node: TagNode): MinuteCount[] {
  const here = [node.group, node.overflow].filter((group): group is MinuteCount => group !== undefined);
  return node.next ? [...here, ...[...node.next.values()].flatMap(groupsUnder)] : here;
}
