import type { KeyRecord } from "../domain/key.js";
import type { VerifiableKey } from "../domain/verification.js";
import { digestsOf } from "../store/keys/index.js";
import { forEachChunk } from "./chunks.js";

/**
 * Cached keys refreshed with one read at most. The read names the keys' ids and nothing else,
 * which every server answers with an id index lookup per key; a read by digest with `$in` scanned
 * the whole collection once per digest on mongo-java-server, which held it to a hundred. Large
 * enough that a minute's wave of refreshes takes few reads, small enough that one read stays well
 * within the store timeout.
 */
export const MAX_REFRESH_BATCH = 500;
/**
 * Refreshes of a batch taken in one turn of the event loop: a whole batch's records compared with
 * the cached keys in one go held every answer waiting behind it (docs/benchmarks.md#the-refresh-wave).
 */
export const REFRESHES_PER_TURN = 50;

/** How a batch reads the store: keys by id (many at once), and one digest of the workspace. */
export interface KeyRefreshReads {
  byIds(workspaceId: string, ids: string[]): Promise<KeyRecord[]>;
  byDigest(workspaceId: string, digest: string): Promise<KeyRecord | null>;
}

interface PendingRefresh {
  keyId: string;
  reading: () => void;
  resolve: (key: VerifiableKey | null) => void;
  reject: (error: unknown) => void;
}

/** A workspace's refreshes waiting for a read, by digest, and when the first of them came. */
interface WaitingRefreshes {
  since: number;
  pending: Map<string, PendingRefresh>;
}

/**
 * Cached keys found past their time, read again together (verify/key-cache.ts): one read of the
 * store per workspace for up to MAX_REFRESH_BATCH of them, made once that many wait or `batchMs`
 * after the first of them, instead of one read per key. One read at a time: refreshes are a
 * backstop, and a wave of them (every key cached in the same minute comes due in the same minute)
 * must not crowd out the reads and writes that callers wait for. Refreshes due meanwhile wait for
 * their own batch to fill or its time to pass, so that keys coming due one after another, as keys
 * in steady use do, fill batches rather than follow each read with a small one.
 *
 * A refresh reads the key the cache holds under the digest, by its id. Should that key no longer
 * answer to the digest in this workspace (deleted for good, or rerolled away from it), the digest
 * is read again on its own, as a cache miss is: it may have become another key's since, and is
 * gone otherwise.
 */
export class KeyRefreshBatches {
  /** Refreshes waiting for a read, by workspace, the longest waiting first. */
  private readonly refreshing = new Map<string, WaitingRefreshes>();
  private timer: NodeJS.Timeout | undefined;
  private reading = false;
  private refreshes = 0;

  constructor(
    private readonly reads: KeyRefreshReads,
    private readonly compile: (record: KeyRecord | null) => Promise<VerifiableKey | null>,
    private readonly batchMs: number,
  ) {}

  /** Digests read again since the start. */
  get refreshed() {
    return this.refreshes;
  }

  /**
   * The workspace's key with this digest as the next batch reads it, given the id of the key cached
   * under it; `reading` is called when that read begins.
   */
  refresh(workspaceId: string, digest: string, keyId: string, reading: () => void): Promise<VerifiableKey | null> {
    let waiting = this.refreshing.get(workspaceId);
    if (!waiting) this.refreshing.set(workspaceId, (waiting = { since: Date.now(), pending: new Map() }));
    const { pending } = waiting;
    const refreshed = new Promise<VerifiableKey | null>((resolve, reject) => pending.set(digest, { keyId, reading, resolve, reject }));
    if (pending.size >= MAX_REFRESH_BATCH || (!this.timer && !this.reading)) this.schedule();
    return refreshed;
  }

  /** Reads the first workspace's refreshes that fill a batch or have waited `batchMs`, unless a read runs (its end comes back here); else waits for the next to have waited that long. */
  private schedule() {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.reading) return;
    const now = Date.now();
    let nextAt = Infinity;
    for (const [workspaceId, waiting] of this.refreshing) {
      const dueAt = waiting.since + this.batchMs;
      if (waiting.pending.size >= MAX_REFRESH_BATCH || now >= dueAt) {
        void this.read(workspaceId, waiting);
        return;
      }
      nextAt = Math.min(nextAt, dueAt);
    }
    if (nextAt < Infinity) this.timer = setTimeout(() => this.schedule(), nextAt - now).unref();
  }

  private async read(workspaceId: string, waiting: WaitingRefreshes) {
    const batch = new Map([...waiting.pending].slice(0, MAX_REFRESH_BATCH));
    for (const digest of batch.keys()) waiting.pending.delete(digest);
    if (waiting.pending.size === 0) this.refreshing.delete(workspaceId);
    this.reading = true;
    try {
      await this.readBatch(workspaceId, batch);
    } finally {
      this.reading = false;
      this.schedule();
    }
  }

  private async readBatch(workspaceId: string, batch: Map<string, PendingRefresh>) {
    for (const pending of batch.values()) pending.reading();
    this.refreshes += batch.size;
    let byId: Map<string, KeyRecord>;
    try {
      const ids = [...new Set([...batch.values()].map((pending) => pending.keyId))];
      byId = new Map((await this.reads.byIds(workspaceId, ids)).map((record) => [record.id, record]));
    } catch (error) {
      for (const pending of batch.values()) pending.reject(error);
      return;
    }
    await forEachChunk([...batch], REFRESHES_PER_TURN, async (refreshes) => {
      for (const [digest, pending] of refreshes) {
        const record = byId.get(pending.keyId);
        const answers = record?.workspaceId === workspaceId && digestsOf(record).includes(digest);
        try {
          // One digest at a time, like every refresh read: only keys changed since they were cached get here.
          const current = answers ? record : await this.reads.byDigest(workspaceId, digest);
          this.compile(current).then(pending.resolve, pending.reject);
        } catch (error) {
          pending.reject(error);
        }
      }
    });
  }
}
