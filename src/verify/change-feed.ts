import type { KeyRecord } from "../domain/key.js";
import type { Logger } from "../observability/log.js";
import type { ChangeLog, KeyChange, KeyChangeTarget } from "../store/store.js";

/**
 * The change to publish after a key was created or changed in any way. It names the key, and the
 * caches evict every digest they hold of it (a rerolled key's previous secret included), so no
 * handler has to list them.
 */
export const keyChanged = (key: Pick<KeyRecord, "id" | "workspaceId" | "hash">): KeyChangeTarget => ({
  keyId: key.id,
  workspaceId: key.workspaceId,
  hash: key.hash,
});

/** A cache that drops what a change made stale. */
export interface ChangeSubscriber {
  evict(change: KeyChangeTarget): void;
}

/** Changes read per store call; a poll that fills a page reads the next at once. */
const PAGE = 1000;

/**
 * Tells every instance sharing the store to drop cached keys and root keys that changed. The
 * instance making a change evicts at once; the others poll the store's change feed, which works
 * on any MongoDB deployment, standalone included.
 *
 * Changes are ordered by the number the store gives each one, never by an instance's clock, so
 * an instance whose clock is ahead or behind neither hides its changes nor misses others'. A
 * number can show up after a higher one (its writer was slower); the feed waits for such a gap
 * to fill, and gives up on it after `gapWaitMs` (its writer died between counting and writing,
 * which leaves the caches' time limit to catch up, as a failed write does).
 */
export class KeyChangeFeed {
  private timer: NodeJS.Timeout | undefined;
  /** Every change numbered up to here was applied or given up on; undefined until the feed knows where the store is. */
  private cursor: number | undefined;
  /** Changes above the cursor already applied (or made here). */
  private readonly seen = new Set<number>();
  /** Numbers above the cursor not read yet, with when this instance noticed each: only durations on one clock are compared. */
  private readonly gaps = new Map<number, number>();
  private polling: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private prunedAt = 0;
  private readStartedAt: number | undefined;

  constructor(
    private readonly store: ChangeLog,
    private readonly caches: readonly ChangeSubscriber[],
    private readonly options: {
      pollMs: number;
      gapWaitMs: number;
      retentionMs: number;
      now: () => number;
      log: Logger;
      /** Told the recorded time of each change another instance made, as this one applies it. */
      onApplied?: (at: Date) => void;
      /** Told when a change numbered but never written is given up on. */
      onSkipped?: () => void;
    },
  ) {}

  /**
   * Called after a change is stored. Should recording it fail, the change itself stands and other
   * instances fall back on their cache's time limit: the failure is logged, not thrown.
   */
  async publish(target: KeyChangeTarget) {
    this.evict(target);
    try {
      this.seen.add(await this.store.appendChange({ ...target, at: new Date(this.options.now()) }));
    } catch (error) {
      this.options.log.error("recording a key change failed", { ...target, error: String(error) });
    }
  }

  private evict(change: KeyChangeTarget) {
    for (const cache of this.caches) cache.evict(change);
  }

  /** Starts from the store's latest change, before anything is cached; a store not reachable yet is asked again at the first poll. */
  async start() {
    await this.position().catch((error: unknown) => this.options.log.warn("change feed start failed", { error: String(error) }));
    this.timer = setInterval(() => void this.poll(), this.options.pollMs);
    this.timer.unref();
  }

  async stop() {
    clearInterval(this.timer);
    await this.polling;
  }

  poll(): Promise<void> {
    this.polling ??= this.pollOnce().finally(() => (this.polling = undefined));
    return this.polling;
  }

  /**
   * Resolves after a poll that started after this call, so every change recorded before it has
   * been applied. Callers waiting at the same time share one poll.
   */
  catchUp(): Promise<void> {
    // A poll already running may have read the store before the caller's change was recorded; the next one cannot have.
    this.queued ??= (this.polling ?? Promise.resolve()).then(() => {
      this.queued = undefined;
      return this.poll();
    });
    return this.queued;
  }

  private async position(): Promise<number> {
    this.cursor ??= await this.store.lastChangeSeq();
    return this.cursor;
  }

  /**
   * When the latest poll that finished began: every change recorded before then has been applied
   * here (but for one given up on as never written). Undefined until a poll has finished.
   */
  get currentSince(): number | undefined {
    return this.readStartedAt;
  }

  private async pollOnce() {
    const startedAt = this.options.now();
    try {
      let page: KeyChange[];
      do {
        page = await this.store.changesAfter(await this.position(), PAGE);
        this.apply(page);
      } while (page.length === PAGE && this.advance());
      this.advance();
      this.readStartedAt = startedAt;
      await this.prune();
    } catch (error) {
      this.options.log.warn("change feed poll failed", { error: String(error) });
    }
  }

  private apply(changes: readonly KeyChange[]) {
    const noticedAt = this.options.now();
    for (const change of changes) {
      if (this.seen.has(change.seq)) continue;
      this.seen.add(change.seq);
      this.gaps.delete(change.seq);
      this.evict(change);
      this.options.onApplied?.(change.at);
    }
    const highest = changes.at(-1)?.seq ?? this.cursor!;
    for (let seq = this.cursor! + 1; seq < highest; seq++) if (!this.seen.has(seq) && !this.gaps.has(seq)) this.gaps.set(seq, noticedAt);
  }

  /** Moves the cursor over what was applied and over gaps waited on long enough; says whether it moved. */
  private advance(): boolean {
    const start = this.cursor!;
    const now = this.options.now();
    for (;;) {
      const next = this.cursor! + 1;
      if (this.seen.delete(next)) {
        this.cursor = next;
        continue;
      }
      const noticedAt = this.gaps.get(next);
      if (noticedAt === undefined || now - noticedAt < this.options.gapWaitMs) break;
      this.options.log.warn("change never written, skipped", { seq: next });
      this.options.onSkipped?.();
      this.gaps.delete(next);
      this.cursor = next;
    }
    return this.cursor! > start;
  }

  private async prune() {
    const now = this.options.now();
    if (now - this.prunedAt <= this.options.retentionMs / 10) return;
    this.prunedAt = now;
    await this.store.pruneChanges(new Date(now - this.options.retentionMs));
  }
}
