import type { KeyRecord } from "../domain/key.js";
import { nameHash } from "../domain/name-hash.js";
import type { Logger } from "../observability/log.js";
import type { KeyUseRecorder } from "../store/store.js";
import { forEachChunk } from "./chunks.js";

/** Keys whose last use one store call writes: thousands in one call outlasted the store timeout on mongo-java-server. */
const KEYS_PER_WRITE = 500;
/**
 * The most of the resolution a key's own is shorter by, drawn from its id: keys an instance first
 * used in the same seconds (as it does at start) would otherwise be written in the same seconds
 * every resolution, a burst of thousands of writes; with resolutions of their own they drift apart.
 */
export const RESOLUTION_SPREAD = 0.25;

/**
 * Keeps last_used_at current to within `resolutionMs` without a write per verification: a use is
 * noted only when it moves the key's last use on by at least the key's own resolution (at most
 * `resolutionMs`, see RESOLUTION_SPREAD), notes are coalesced per key in memory, and written
 * every `flushMs` (at most KEYS_PER_WRITE keys per write) and once more on shutdown. The
 * resolution is what bounds the writes: a key in constant use costs one per resolution per
 * instance, not one per flush.
 */
export class UsageRecorder {
  private pending = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  /** No key's own resolution is shorter: most uses are passed over on this alone. */
  private readonly soonestMs: number;

  constructor(
    private readonly store: KeyUseRecorder,
    private readonly options: { flushMs: number; resolutionMs: number; log: Logger; onFailure?: () => void },
  ) {
    this.soonestMs = options.resolutionMs * (1 - RESOLUTION_SPREAD);
  }

  /** The key's own resolution: between (1 - RESOLUTION_SPREAD) and all of `resolutionMs`, always the same for the same key. */
  resolutionOf(keyId: string) {
    return this.options.resolutionMs * (1 - (RESOLUTION_SPREAD * nameHash(keyId)) / 2 ** 32);
  }

  /** A use of the (cached) key: its lastUsedAt becomes what this instance will write. */
  record(key: Pick<KeyRecord, "id" | "lastUsedAt">, at: number) {
    if (key.lastUsedAt) {
      const since = at - key.lastUsedAt.getTime();
      if (since < this.soonestMs || since < this.resolutionOf(key.id)) return;
    }
    key.lastUsedAt = new Date(at);
    this.note(key.id, at);
  }

  start() {
    this.timer = setInterval(() => void this.flush(), this.options.flushMs);
    this.timer.unref();
  }

  async stop() {
    clearInterval(this.timer);
    await this.flush();
  }

  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const uses = [...this.pending].map(([id, at]) => ({ id, at: new Date(at) }));
      this.pending = new Map();
      await forEachChunk(uses, KEYS_PER_WRITE, async (chunk) => {
        try {
          await this.store.recordKeyUse(chunk);
        } catch (error) {
          this.options.log.warn("recording key use failed", { keys: chunk.length, error: String(error) });
          this.options.onFailure?.();
          for (const { id, at } of chunk) this.note(id, at.getTime());
        }
      });
    });
    return this.flushing;
  }

  private note(keyId: string, at: number) {
    if ((this.pending.get(keyId) ?? 0) < at) this.pending.set(keyId, at);
  }
}
