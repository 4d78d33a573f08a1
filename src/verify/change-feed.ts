import { randomUUID } from "node:crypto";
import type { Logger } from "../log.js";
import type { KeyChangeTarget, Store } from "../store/store.js";

/** A cache that drops what a change made stale. */
export interface ChangeSubscriber {
  evict(change: KeyChangeTarget): void;
}

/**
 * Tells every instance sharing the store to drop cached keys and root keys that changed. The instance making a
 * change evicts at once; the others poll the store's change feed, which works on any MongoDB
 * deployment, standalone included. Polls re-read an overlap, since a change written just before
 * a poll may carry a time slightly before it; what was already handled is skipped.
 */
export class KeyChangeFeed {
  private timer: NodeJS.Timeout | undefined;
  private polledFrom: number;
  private readonly handled = new Map<string, number>();
  private polling: Promise<void> | undefined;
  private prunedAt = 0;

  constructor(
    private readonly store: Store,
    private readonly caches: readonly ChangeSubscriber[],
    private readonly options: {
      pollMs: number;
      overlapMs: number;
      retentionMs: number;
      now: () => number;
      log: Logger;
      /** Told the recorded time of each change another instance made, as this one applies it. */
      onApplied?: (at: Date) => void;
    },
  ) {
    this.polledFrom = options.now();
  }

  /**
   * Called after a change is stored. Should recording it fail, the change itself stands and other
   * instances fall back on their cache's time limit: the failure is logged, not thrown.
   */
  async publish(target: KeyChangeTarget) {
    this.evict(target);
    const change = { ...target, id: randomUUID(), at: new Date(this.options.now()) };
    this.handled.set(change.id, change.at.getTime());
    try {
      await this.store.appendChange(change);
    } catch (error) {
      this.options.log.error("recording a key change failed", { ...target, error: String(error) });
    }
  }

  private evict(change: KeyChangeTarget) {
    for (const cache of this.caches) cache.evict(change);
  }

  start() {
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

  private async pollOnce() {
    const startedAt = this.options.now();
    const since = this.polledFrom - this.options.overlapMs;
    try {
      for (const change of await this.store.changesSince(new Date(since))) {
        if (this.handled.has(change.id)) continue;
        this.handled.set(change.id, change.at.getTime());
        this.evict(change);
        this.options.onApplied?.(change.at);
      }
      this.polledFrom = startedAt;
      for (const [id, at] of this.handled) if (at < since) this.handled.delete(id);
      if (startedAt - this.prunedAt > this.options.retentionMs / 10) {
        this.prunedAt = startedAt;
        await this.store.pruneChanges(new Date(startedAt - this.options.retentionMs));
      }
    } catch (error) {
      this.options.log.warn("change feed poll failed", { error: String(error) });
    }
  }
}
