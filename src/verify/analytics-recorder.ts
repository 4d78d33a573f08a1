import { bucketStart, type Retention } from "../domain/analytics/buckets.js";
import type { MinuteCount } from "../domain/analytics/counts.js";
import { addDocument, type AnalyticsDocument, documentRetention, documentsOf } from "../domain/analytics/documents.js";
import type { Logger } from "../observability/log.js";
import { DocumentsNotWritten } from "../store/analytics/index.js";
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

/** The source verifications are counted under. */
export const VERIFICATION_SOURCE = "verification";
/**
 * The source of rate-limit decisions (Limit, MultiLimit): counted with the namespace where
 * verifications have the keyspace, the identifier where they have the key, `passed` or `refused`.
 */
export const RATELIMIT_SOURCE = "ratelimit";

/** Documents written per store call: each call is bounded by the store timeout, so none may be long. */
const DOCUMENTS_PER_WRITE = 1000;
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

interface MinuteGroups {
  /** By key (or, for verifications without one, workspace), then external id, then tag set. */
  groups: Map<string, Map<string, TagNode>>;
  /** Rate-limit decisions by workspace, then namespace. */
  limits: Map<string, Map<string, LimitGroups>>;
}

/** A namespace's groups by identifier, and the one for identifiers beyond the budget. */
interface LimitGroups {
  identifiers: Map<string, MinuteCount>;
  overflow?: MinuteCount;
}

const emptyMinute = (): MinuteGroups => ({ groups: new Map(), limits: new Map() });

/**
 * A key's groups by tag set, one tag per level, in sorted order: finding a group costs a lookup per
 * tag and builds no string. The root holds the group without tags, and the overflow group.
 */
interface TagNode {
  next?: Map<string, TagNode>;
  group?: MinuteCount;
  overflow?: MinuteCount;
}

/** Where tags out of order are sorted: reused by every call, copied only when a group is opened. */
const tagScratch: string[] = [];

/**
 * The tags sorted and without repeats: the input itself when it already is, as it usually is;
 * otherwise `tagScratch`, sorted in place (requests carry few tags), so no call allocates.
 */
function sortedTags(tags: readonly string[]): readonly string[] {
  let ordered = true;
  for (let i = 1; ordered && i < tags.length; i++) ordered = tags[i - 1]! < tags[i]!;
  if (ordered) return tags;
  tagScratch.length = 0;
  for (const tag of tags) {
    let at = tagScratch.length;
    while (at > 0 && tagScratch[at - 1]! > tag) at--;
    if (at > 0 && tagScratch[at - 1] === tag) continue;
    tagScratch.push(tag);
    for (let i = tagScratch.length - 1; i > at; i--) tagScratch[i] = tagScratch[i - 1]!;
    tagScratch[at] = tag;
  }
  return tagScratch;
}

/**
 * Counts events in memory by group and minute and writes them in batches every `flushMs`, as
 * `$inc`s of day and month documents (domain/analytics/documents.ts): the writes grow with the groups a
 * flush holds, never with the event rate. A count is a map lookup per level (key, external id,
 * each tag; or workspace, namespace, identifier) and an increment, on the request path.
 * A batch the store refuses is kept and added to the next one; stopping writes everything, so a
 * process that is killed loses at most what it counted since its last flush.
 */
export class AnalyticsRecorder {
  private pending = new Map<number, MinuteGroups>();
  private currentMinute = Number.NaN;
  private current: MinuteGroups = emptyMinute();
  /** The groups opened in `budgetMinute`, across flushes, and how many per workspace. */
  private budgetMinute = Number.NaN;
  private readonly openedGroups = new Set<string>();
  private readonly opened = new Map<string, number>();
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
    // A key's id names its workspace and keyspace, and is the same string every time, so its hash
    // is computed once; a verification without a key has no keyspace either, and ids of keys and
    // workspaces never collide.
    const primary = source === VERIFICATION_SOURCE ? keyId || workspaceId : `${source}\0${workspaceId}\0${keyspaceId}\0${keyId}`;
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

  /**
   * One limit of a Limit or MultiLimit decision, `passed` when the request went ahead. Identifiers
   * are the caller's to choose: each one counts against the workspace's budget of groups, and those
   * beyond it are counted in the namespace's overflow group, without their identifier.
   */
  recordLimit(workspaceId: string, namespace: string, identifier: string, passed: boolean) {
    const minute = bucketStart("minute", this.options.now());
    if (minute !== this.currentMinute) this.enterMinute(minute);
    let byNamespace = this.current.limits.get(workspaceId);
    if (!byNamespace) this.current.limits.set(workspaceId, (byNamespace = new Map()));
    let groups = byNamespace.get(namespace);
    if (!groups) byNamespace.set(namespace, (groups = { identifiers: new Map() }));
    const group = groups.identifiers.get(identifier) ?? this.openLimitGroup(groups, workspaceId, namespace, identifier, minute);
    const outcome = passed ? "passed" : "refused";
    group.outcomes[outcome] = (group.outcomes[outcome] ?? 0) + 1;
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
      const counts = [...this.pending.values()].flatMap(countsOf);
      this.pending = new Map();
      this.currentMinute = Number.NaN;
      const documents = this.unwritten;
      this.unwritten = new Map();
      this.forgetKeyEntriesBefore(bucketStart("day", this.options.now()) - 86_400_000);
      for (const document of documentsOf(counts, this.options.retention, (day, keyId) => this.admitsKey(day, keyId))) {
        const earlier = documents.get(document.id);
        if (earlier) addDocument(earlier, document);
        else documents.set(document.id, document);
      }
      const batch = [...documents.values()];
      for (let from = 0; from < batch.length; from += DOCUMENTS_PER_WRITE) await this.write(batch.slice(from, from + DOCUMENTS_PER_WRITE));
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

  private enterMinute(minute: number) {
    this.currentMinute = minute;
    let groups = this.pending.get(minute);
    if (!groups) this.pending.set(minute, (groups = emptyMinute()));
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
  }

  private openLimitGroup(groups: LimitGroups, workspaceId: string, namespace: string, identifier: string, minute: number): MinuteCount {
    const groupKey = `${RATELIMIT_SOURCE}\0${workspaceId}\0${namespace}\0${identifier}`;
    const known = this.openedGroups.has(groupKey);
    const opened = this.opened.get(workspaceId) ?? 0;
    const group = { source: RATELIMIT_SOURCE, workspaceId, keyspaceId: namespace, externalId: "", tags: [], minute, outcomes: {}, credits: 0 };
    if (!known && opened >= this.options.maxGroupsPerMinute) return (groups.overflow ??= { ...group, keyId: "", overflow: true });
    if (!known) {
      this.openedGroups.add(groupKey);
      this.opened.set(workspaceId, opened + 1);
    }
    const opening = { ...group, keyId: identifier, overflow: false };
    groups.identifiers.set(identifier, opening);
    return opening;
  }
}

function countsOf(minute: MinuteGroups): MinuteCount[] {
  const verifications = [...minute.groups.values()].flatMap((byIdentity) => [...byIdentity.values()].flatMap((root) => groupsUnder(root)));
  const limits = [...minute.limits.values()].flatMap((byNamespace) =>
    [...byNamespace.values()].flatMap((groups) => (groups.overflow ? [...groups.identifiers.values(), groups.overflow] : [...groups.identifiers.values()])),
  );
  return [...verifications, ...limits];
}

function groupsUnder(node: TagNode): MinuteCount[] {
  const here = [node.group, node.overflow].filter((group): group is MinuteCount => group !== undefined);
  return node.next ? [...here, ...[...node.next.values()].flatMap(groupsUnder)] : here;
}
