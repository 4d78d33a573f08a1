import type { KeyRecord } from "../domain/key.js";
import type { VerifiableKey } from "../domain/verification.js";

/**
 * Digests refreshed with one read at most. A read finds its keys by digest with `$in`: an index
 * lookup per digest on MongoDB, but a scan of the whole collection per digest on
 * mongo-java-server, where a read of hundreds of digests can outlast the store timeout.
 */
const MAX_REFRESH_BATCH = 100;

interface PendingRefresh {
  reading: () => void;
  resolve: (key: VerifiableKey | null) => void;
  reject: (error: unknown) => void;
}

/**
 * Cached keys found past their time, read again together (verify/key-cache.ts): `batchMs` after
 * the first of them, one read of the store per workspace for up to a hundred of them, instead of
 * one per key. One read at a time: refreshes are a backstop, and a wave of them (every key cached
 * in the same minute comes due in the same minute) must not crowd out the reads and writes that
 * callers wait for. Refreshes due meanwhile join the next read.
 */
export class KeyRefreshBatches {
  /** Refreshes waiting for a read, by workspace and digest. */
  private readonly refreshing = new Map<string, Map<string, PendingRefresh>>();
  private timer: NodeJS.Timeout | undefined;
  private reading = false;
  private refreshes = 0;

  constructor(
    private readonly read: (workspaceId: string, digests: string[]) => Promise<KeyRecord[]>,
    private readonly compile: (record: KeyRecord | null) => Promise<VerifiableKey | null>,
    private readonly batchMs: number,
  ) {}

  /** Digests read again since the start. */
  get refreshed() {
    return this.refreshes;
  }

  /** The key with this digest as the next batch reads it; `reading` is called when that read begins. */
  refresh(workspaceId: string, digest: string, reading: () => void): Promise<VerifiableKey | null> {
    let batch = this.refreshing.get(workspaceId);
    if (!batch) this.refreshing.set(workspaceId, (batch = new Map()));
    const refreshed = new Promise<VerifiableKey | null>((resolve, reject) => batch.set(digest, { reading, resolve, reject }));
    if (batch.size >= MAX_REFRESH_BATCH) void this.readNext();
    else this.timer ??= setTimeout(() => void this.readNext(), this.batchMs).unref();
    return refreshed;
  }

  /** Reads the oldest workspace's waiting refreshes, up to a batch, then the next, one read at a time. */
  private async readNext() {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.reading) return;
    const [workspaceId, waiting] = this.refreshing.entries().next().value ?? [];
    if (!workspaceId || !waiting) return;
    const batch = new Map([...waiting].slice(0, MAX_REFRESH_BATCH));
    for (const digest of batch.keys()) waiting.delete(digest);
    if (waiting.size === 0) this.refreshing.delete(workspaceId);
    this.reading = true;
    try {
      await this.readBatch(workspaceId, batch);
    } finally {
      this.reading = false;
      if (this.refreshing.size > 0) void this.readNext();
    }
  }

  private async readBatch(workspaceId: string, batch: Map<string, PendingRefresh>) {
    for (const pending of batch.values()) pending.reading();
    this.refreshes += batch.size;
    try {
      const records = await this.read(workspaceId, [...batch.keys()]);
      const byDigest = new Map<string, KeyRecord>();
      for (const record of records) for (const digest of [record.hash, record.previousSecret?.hash]) if (digest) byDigest.set(digest, record);
      for (const [digest, pending] of batch) this.compile(byDigest.get(digest) ?? null).then(pending.resolve, pending.reject);
    } catch (error) {
      for (const pending of batch.values()) pending.reject(error);
    }
  }
}
