import type { KeyRecord } from "../domain/key.js";
import type { Logger } from "../observability/log.js";
import type { KeyUseRecorder } from "../store/store.js";
import { forEachChunk } from "./chunks.js";

/** Keys whose last use one store call writes: thousands in one call outlasted the store timeout on mongo-java-server. */
const KEYS_PER_WRITE = 500;

/**
 * Keeps last_used_at current to within `resolutionMs` without a write per verification: a use is
 * noted only when it moves the key's last use on by at least that much, notes are coalesced per
 * key in memory, and written every `flushMs` (at most KEYS_PER_WRITE keys per write) and once
 * more on shutdown. The resolution is what bounds the writes: a key in constant use costs one per
 * resolution per instance, not one per flush.
 */
export class UsageRecorder {
  private pending = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: KeyUseRecorder,
    private readonly options: { flushMs: number; resolutionMs: number; log: Logger; onFailure?: () => void },
  ) {}

  /** A use of the (cached) key: its lastUsedAt becomes what this instance will write. */
  record(key: Pick<KeyRecord, "id" | "lastUsedAt">, at: number) {
    if (key.lastUsedAt && at - key.lastUsedAt.getTime() < this.options.resolutionMs) return;
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
