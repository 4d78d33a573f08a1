import type { KeyRecord } from "../domain/key.js";
import { compileKey, type VerifiableKey } from "../domain/verification.js";
import type { KeyChangeTarget, Store } from "../store/store.js";

export interface KeyCacheOptions {
  maxEntries: number;
  maxMisses: number;
  /** A backstop: the change feed evicts changed keys long before this. */
  ttlMs: number;
  missTtlMs: number;
  now: () => number;
}

interface Entry {
  key: VerifiableKey;
  expiresAt: number;
  /** Set on each hit; eviction passes over a used entry once (the CLOCK algorithm), so hits never reorder the map. */
  used: boolean;
}

/**
 * Keys by secret digest, so verifying a known key needs no storage read. Unknown digests are
 * remembered too (a bounded negative cache), so a flood of the same unknown keys costs no reads.
 * Both are bounded: keys drop least recently used first (approximately), unknown digests oldest
 * first. A key whose keyspace is gone is cached as unknown.
 */
export class KeyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly misses = new Map<string, number>();
  private readonly digestsByKeyId = new Map<string, string>();
  private readonly loading = new Map<string, Promise<VerifiableKey | null>>();
  /** Moves on each eviction, so a load that raced with one is not cached. */
  private generation = 0;

  constructor(
    private readonly store: Store,
    private readonly options: KeyCacheOptions,
  ) {}

  /** What the cache knows of this digest: the key, null when it is known not to exist, undefined when it does not know. */
  peek(digest: string): VerifiableKey | null | undefined {
    const now = this.options.now();
    const entry = this.entries.get(digest);
    if (entry && entry.expiresAt > now) {
      entry.used = true;
      return entry.key;
    }
    const missExpiresAt = this.misses.get(digest);
    return missExpiresAt !== undefined && missExpiresAt > now ? null : undefined;
  }

  /** The key with this digest, or null when there is none; read from storage when the cache does not know. */
  lookup(digest: string): VerifiableKey | null | Promise<VerifiableKey | null> {
    const known = this.peek(digest);
    if (known !== undefined) return known;
    let pending = this.loading.get(digest);
    if (!pending) {
      pending = this.load(digest).finally(() => this.loading.delete(digest));
      this.loading.set(digest, pending);
    }
    return pending;
  }

  /**
   * Drops what a change may have made stale: a key by id or digest, every key of a keyspace, or the
   * keys of a workspace that carry an identity's external id, hold a role, or (when only the
   * workspace is named) all of them.
   */
  evict(change: KeyChangeTarget) {
    this.generation++;
    if (change.hash) this.forget(change.hash);
    if (change.keyId) {
      const digest = this.digestsByKeyId.get(change.keyId);
      if (digest) this.forget(digest);
    }
    if (change.keyspaceId) this.forgetWhere((record) => record.keyspaceId === change.keyspaceId);
    const { workspaceId, externalId, role } = change;
    if (workspaceId) {
      this.forgetWhere(
        (record) =>
          record.workspaceId === workspaceId &&
          (externalId ? record.externalId === externalId : role ? record.roles.includes(role) : true),
      );
    }
  }

  /** Keeps a cached key's credit figures in step after this instance spent or refilled them. */
  noteCredits(digest: string, credits: Partial<Pick<NonNullable<KeyRecord["credits"]>, "remaining">> & { lastRefillAt?: Date }) {
    const record = this.entries.get(digest)?.key.record;
    if (!record?.credits) return;
    if (credits.remaining !== undefined) record.credits.remaining = credits.remaining;
    if (credits.lastRefillAt && record.credits.refill) record.credits.refill.lastRefillAt = credits.lastRefillAt;
  }

  get size() {
    return { entries: this.entries.size, misses: this.misses.size };
  }

  private async load(digest: string): Promise<VerifiableKey | null> {
    const generation = this.generation;
    const found = await this.compile(await this.store.findKeyByHash(digest));
    if (generation === this.generation) this.remember(digest, found);
    return found;
  }

  /** A key with what it draws on: its identity and its roles' permissions. A key whose keyspace is gone counts as unknown. */
  private async compile(record: KeyRecord | null): Promise<VerifiableKey | null> {
    if (!record || !(await this.store.keyspaces.find({ id: record.keyspaceId }))) return null;
    const { workspaceId } = record;
    const [identity, roles] = await Promise.all([
      record.externalId ? this.store.identities.find({ workspaceId, externalId: record.externalId }) : null,
      record.roles.length > 0 ? this.store.roles.list({ workspaceId, name: record.roles }, { limit: record.roles.length }) : [],
    ]);
    return compileKey(record, { identity, rolePermissions: roles.flatMap((role) => role.permissions) });
  }

  private remember(digest: string, key: VerifiableKey | null) {
    const now = this.options.now();
    if (key === null) {
      this.misses.delete(digest);
      this.misses.set(digest, now + this.options.missTtlMs);
      for (const oldest of this.misses.keys()) {
        if (this.misses.size <= this.options.maxMisses) break;
        this.misses.delete(oldest);
      }
      return;
    }
    this.entries.set(digest, { key, expiresAt: now + this.options.ttlMs, used: false });
    this.digestsByKeyId.set(key.record.id, digest);
    this.evictBeyondCap();
  }

  /** Walks the entries oldest first, giving each used one a second chance at the back. */
  private evictBeyondCap() {
    while (this.entries.size > this.options.maxEntries) {
      const [digest, entry] = this.entries.entries().next().value!;
      this.entries.delete(digest);
      if (entry.used) {
        entry.used = false;
        this.entries.set(digest, entry);
      } else {
        this.digestsByKeyId.delete(entry.key.record.id);
      }
    }
  }

  private forgetWhere(stale: (record: KeyRecord) => boolean) {
    for (const [digest, entry] of this.entries) if (stale(entry.key.record)) this.forget(digest);
  }

  private forget(digest: string) {
    const entry = this.entries.get(digest);
    if (entry) this.digestsByKeyId.delete(entry.key.record.id);
    this.entries.delete(digest);
    this.misses.delete(digest);
  }
}
