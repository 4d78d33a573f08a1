import type { KeyRecord } from "../domain/key.js";
import { answersAlike, compileKey, takeUse, type VerifiableKey } from "../domain/verification.js";
import type { IdentityTables, KeyChangeTarget, KeyLookup, KeyspaceTables, RbacStore } from "../store/store.js";
import { BoundedCache } from "./bounded-cache.js";
import { KeyRefreshBatches } from "./key-refresh-batches.js";

export interface KeyCacheOptions {
  /** Digests that may belong to a key; any other is answered unknown without a read. */
  known: { mayExist(digest: string): boolean | Promise<boolean> };
  maxEntries: number;
  /** What the cached keys may weigh together; a key holds up to 64 KiB as JSON, and more once compiled. */
  maxBytes: number;
  maxMisses: number;
  /**
   * The most of `maxEntries`, `maxBytes` and `maxMisses` one workspace's keys and unknown digests
   * may take (a fraction): beyond it a workspace makes room among its own, so no tenant's traffic
   * evicts another's keys while the shares in use fit the cache.
   */
  workspaceShare: number;
  /** When a cached key is refreshed: a backstop, as the change feed evicts changed keys long before. */
  ttlMs: number;
  /** The share of `ttlMs` taken off each key's time at random, so keys read together (an instance's first seconds) come due apart. */
  ttlSpread?: number;
  /** How long past `ttlMs` an unused key is still answered at once (and refreshed meanwhile); after that it is read again. */
  staleMs: number;
  /**
   * Keys found past their time are refreshed together, this long after the first of them: one read
   * of the store by id per workspace for all of them (up to a batch), instead of one per key.
   */
  refreshBatchMs: number;
  missTtlMs: number;
  now: () => number;
}

/**
 * Keys by workspace and secret digest, so verifying a known key needs no storage read: a key
 * belongs to a workspace, and a digest is looked up among the caller's workspace's keys only.
 * Unknown digests are remembered too (a bounded negative cache), so a flood of the same unknown
 * keys costs no reads. Both are bounded, drop roughly least recently used first, and give each
 * workspace a bounded share. A key whose keyspace is gone is cached as unknown.
 *
 * A key past its time is answered from the cache while one background read refreshes it; a change
 * arriving during that read wins over what the read found.
 */
export class KeyCache {
  private readonly keys: BoundedCache<VerifiableKey>;
  /** The cache entries of each key, by key id: a change to a key evicts every digest it answers to. */
  private readonly entriesOfKey = new Map<string, Set<string>>();
  private readonly misses: BoundedCache<true>;
  /** Keyspaces known to exist (ids are never reused), so loading a key costs one read; the change feed drops deleted ones. */
  private readonly keyspaces: BoundedCache<true>;
  private readonly refreshBatches: KeyRefreshBatches;
  private hits = 0;
  private loads = 0;
  private filtered = 0;

  constructor(
    private readonly store: KeyLookup & KeyspaceTables & IdentityTables & RbacStore,
    private readonly options: KeyCacheOptions,
  ) {
    this.keys = new BoundedCache({
      maxEntries: options.maxEntries,
      maxBytes: options.maxBytes,
      sizeOf: approximateBytes,
      onRemove: (entry, key) => this.unindex(entry, key.record.id),
      ttlMs: options.ttlMs,
      ttlSpread: options.ttlSpread,
      staleMs: options.staleMs,
      onStale: (entry, key) => void this.refresh(entry, key.record.id),
      partitionOf: workspaceOf,
      partitionShare: options.workspaceShare,
      now: options.now,
    });
    this.misses = new BoundedCache({
      maxEntries: options.maxMisses,
      ttlMs: options.missTtlMs,
      partitionOf: workspaceOf,
      partitionShare: options.workspaceShare,
      now: options.now,
    });
    // No time limit: a keyspace's deletion reaches this cache through the change feed, and a keyspace
    // goes only with its keys or once they are deleted, so a key of it read later does not verify
    // even if the feed lost the change.
    this.keyspaces = new BoundedCache({ maxEntries: options.maxEntries, ttlMs: Infinity, now: options.now });
    this.refreshBatches = new KeyRefreshBatches(
      { byIds: (workspaceId, ids) => store.findKeysByIds(workspaceId, ids), byDigest: (workspaceId, digest) => store.findKeyByHash(workspaceId, digest) },
      (record) => this.compile(record),
      options.refreshBatchMs,
    );
  }

  /** What the cache knows of this digest in the workspace: the key, null when it is known not to exist, undefined when it does not know. */
  peek(workspaceId: string, digest: string): VerifiableKey | null | undefined {
    const entry = entryOf(workspaceId, digest);
    const known = this.keys.get(entry) ?? (this.misses.get(entry) ? null : undefined);
    if (known !== undefined) this.hits++;
    return known;
  }

  /** The workspace's key with this digest, or null when there is none; read from storage when the cache does not know. */
  lookup(workspaceId: string, digest: string): VerifiableKey | null | Promise<VerifiableKey | null> {
    const known = this.peek(workspaceId, digest);
    if (known !== undefined) return known;
    const entry = entryOf(workspaceId, digest);
    return this.keys.load(
      entry,
      () => this.fetchIfKnown(workspaceId, digest),
      (found) => this.remember(entry, found),
    );
  }

  /**
   * Drops what a change may have made stale: every digest of a key, every key of a keyspace, or the
   * keys of a workspace that carry an identity's external id, hold a role, or (when only the
   * workspace is named) all of them. Only the named workspace's keys are looked at.
   */
  evict(change: KeyChangeTarget) {
    const { keyId, hash, workspaceId, keyspaceId, externalId, role } = change;
    if (keyId || hash) {
      for (const entry of [...(this.entriesOfKey.get(keyId ?? "") ?? [])]) this.keys.delete(entry);
      if (hash && workspaceId) this.forget(entryOf(workspaceId, hash));
      // Changes recorded by earlier versions name no workspace.
      else if (hash) for (const cache of [this.keys, this.misses]) cache.deleteWhere((_, entry) => entry.endsWith(hash));
      return;
    }
    if (keyspaceId) this.keyspaces.delete(keyspaceId);
    if (!workspaceId && !keyspaceId) return;
    const stale = (record: KeyRecord) =>
      keyspaceId ? record.keyspaceId === keyspaceId : externalId ? record.externalId === externalId : role ? record.roles.includes(role) : true;
    if (!workspaceId) this.keys.deleteWhere((key) => stale(key.record));
    else this.keys.deleteInPartition(workspaceId, (key) => stale(key.record));
  }

  /** Keeps a cached key's credit figures in step after this instance spent or refilled them, under each digest of the key. */
  noteCredits(keyId: string, credits: Partial<Pick<NonNullable<KeyRecord["credits"]>, "remaining">> & { lastRefillAt?: Date }) {
    for (const entry of this.entriesOfKey.get(keyId) ?? []) {
      const record = this.keys.peek(entry)?.record;
      if (!record?.credits) continue;
      if (credits.remaining !== undefined) record.credits.remaining = credits.remaining;
      if (credits.lastRefillAt && record.credits.refill) record.credits.refill.lastRefillAt = credits.lastRefillAt;
    }
  }

  /**
   * Sizes now, and since the start: answers from memory, storage loads a caller waited for,
   * background refreshes, and unknown digests answered without a load.
   */
  get stats() {
    return {
      entries: this.keys.size,
      bytes: this.keys.bytes,
      misses: this.misses.size,
      hits: this.hits,
      loads: this.loads,
      refreshes: this.refreshBatches.refreshed,
      filtered: this.filtered,
    };
  }

  /** How many keys and unknown digests of a workspace are cached. */
  held(workspaceId: string) {
    return { keys: this.keys.sizeOf(workspaceId), misses: this.misses.sizeOf(workspaceId) };
  }

  /**
   * Reads a cached key anew by its id in the background, in the next batch; the cache shares one
   * load per entry, so a key is refreshed once however many ask. A change arriving before the batch
   * is read is seen by the read.
   */
  private refresh(entry: string, keyId: string) {
    const [workspaceId, digest] = entry.split(" ") as [string, string];
    // A failed refresh leaves the entry as it was: the next use past its time tries again.
    return this.keys
      .load(
        entry,
        (reading) => this.refreshBatches.refresh(workspaceId, digest, keyId, reading),
        (found) => this.refreshed(entry, found),
      )
      .catch(() => {});
  }

  private async fetchIfKnown(workspaceId: string, digest: string): Promise<VerifiableKey | null> {
    if (!(await this.options.known.mayExist(digest))) {
      this.filtered++;
      return null;
    }
    this.loads++;
    return this.compile(await this.store.findKeyByHash(workspaceId, digest));
  }

  /** A key with what it draws on: its identity and its roles' permissions. A key whose keyspace is gone counts as unknown. */
  private async compile(record: KeyRecord | null): Promise<VerifiableKey | null> {
    if (!record || !(await this.keyspaceExists(record.keyspaceId))) return null;
    const { workspaceId } = record;
    const [identity, roles] = await Promise.all([
      record.externalId ? this.store.identities.find({ workspaceId, externalId: record.externalId }) : null,
      record.roles.length > 0 ? this.store.roles.list({ workspaceId, name: record.roles }, { limit: record.roles.length }) : [],
    ]);
    return compileKey(record, { identity, rolePermissions: roles.flatMap((role) => role.permissions) });
  }

  private async keyspaceExists(id: string): Promise<boolean> {
    if (this.keyspaces.get(id)) return true;
    return this.keyspaces.load(
      id,
      async () => (await this.store.keyspaces.find({ id })) !== null,
      (exists) => exists && this.keyspaces.set(id, true),
    );
  }

  /**
   * A refresh that finds the key as it was, but for what its use changes, keeps the cached key and
   * takes those changes: its compiled rules and encoded answers stay, and the record read dies
   * young instead of replacing, every minute, one the collector has already moved to its old
   * generation.
   */
  private refreshed(entry: string, found: VerifiableKey | null) {
    const cached = this.keys.peek(entry);
    if (!found || !cached || !answersAlike(cached, found)) {
      this.remember(entry, found);
      return;
    }
    takeUse(cached, found);
    this.keys.renew(entry);
  }

  private remember(entry: string, key: VerifiableKey | null) {
    if (!key) {
      this.keys.discard(entry);
      this.misses.set(entry, true);
      return;
    }
    this.misses.discard(entry);
    this.keys.set(entry, key);
    // A key too large for the byte budget on its own is not kept.
    if (!this.keys.peek(entry)) return;
    let entries = this.entriesOfKey.get(key.record.id);
    if (!entries) this.entriesOfKey.set(key.record.id, (entries = new Set()));
    entries.add(entry);
  }

  private unindex(entry: string, keyId: string) {
    const entries = this.entriesOfKey.get(keyId);
    entries?.delete(entry);
    if (entries?.size === 0) this.entriesOfKey.delete(keyId);
  }

  private forget(entry: string) {
    this.keys.delete(entry);
    this.misses.delete(entry);
  }
}

/** A cache entry's name: workspace ids hold no spaces. */
const entryOf = (workspaceId: string, digest: string) => `${workspaceId} ${digest}`;
const workspaceOf = (entry: string) => entry.slice(0, entry.indexOf(" "));

/**
 * About what a compiled key holds in memory: its record, identity and permissions as JSON, in
 * UTF-16, three times over for the objects around the strings and the compiled matchers.
 */
function approximateBytes(key: VerifiableKey): number {
  return 6 * JSON.stringify({ record: key.record, identity: key.identity, permissions: key.permissions }).length + 2048;
}
