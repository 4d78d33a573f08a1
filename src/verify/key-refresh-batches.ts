import type { KeyRecord } from "../domain/key.js";
import type { VerifiableKey } from "../domain/verification.js";

/** Digests refreshed with one read at most: a batch this large is read at once. */
const MAX_REFRESH_BATCH = 500;

interface PendingRefresh {
  reading: () => void;
  resolve: (key: VerifiableKey | null) => void;
  reject: (error: unknown) => void;
}

/**
 * Cached keys found past their time, read again together (verify/key-cache.ts): `batchMs` after
 * the first of them, one read of the store per workspace for all of them, instead of one per key.
 */
export class KeyRefreshBatches {
  /** Refreshes waiting for the next batch, by workspace and digest. */
  private readonly refreshing = new Map<string, Map<string, PendingRefresh>>();
  private timer: NodeJS.Timeout | undefined;
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
    if (batch.size >= MAX_REFRESH_BATCH) void this.refreshNow(workspaceId);
    else this.timer ??= setTimeout(() => this.refreshAll(), this.batchMs).unref();
    return refreshed;
  }

  private refreshAll() {
    this.timer = undefined;
    for (const workspaceId of [...this.refreshing.keys()]) void this.refreshNow(workspaceId);
  }

  private async refreshNow(workspaceId: string) {
    const batch = this.refreshing.get(workspaceId)!;
    this.refreshing.delete(workspaceId);
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
