import type { KeyRecord } from "../domain/key.js";
import { compileKey, type VerifiableKey } from "../domain/verification.js";
import type { KeyChangeTarget, Store } from "../store/store.js";
import { BoundedCache } from "./bounded-cache.js";

export interface KeyCacheOptions {
  /** Digests that may belong to a key; any other is answered unknown without a read. */
  known: { mayExist(digest: string): boolean | Promise<boolean> };
  maxEntries: number;
  /** What the cached keys may weigh together; a key holds up to 64 KiB as JSON, and more once compiled. */
  maxBytes: number;
  maxMisses: number;
  /** A backstop: the change feed evicts changed keys long before this. */
  ttlMs: number;
  missTtlMs: number;
  now: () => number;
}

/**
 * Keys by secret digest, so verifying a known key needs no storage read. Unknown digests are
 * remembered too (a bounded negative cache), so a flood of the same unknown keys costs no reads.
 * Both are bounded and drop roughly least recently used first. A key whose keyspace is gone is
 * cached as unknown.
 */
export class KeyCache {
  private readonly keys: BoundedCache<VerifiableKey>;
  /** Cached digests by workspace, so a change to what one workspace shares scans that workspace's keys only. */
  private readonly byWorkspace = new Map<string, Set<string>>();
  private readonly misses: BoundedCache<true>;
  private hits = 0;
  private loads = 0;
  private filtered = 0;

  constructor(
    private readonly store: Store,
    private readonly options: KeyCacheOptions,
  ) {
    this.keys = new BoundedCache({
      maxEntries: options.maxEntries,
      maxBytes: options.maxBytes,
      sizeOf: approximateBytes,
      onRemove: (digest, key) => this.unindex(digest, key.record.workspaceId),
      ttlMs: options.ttlMs,
      now: options.now,
    });
    this.misses = new BoundedCache({ maxEntries: options.maxMisses, ttlMs: options.missTtlMs, now: options.now });
  }

  /** What the cache knows of this digest: the key, null when it is known not to exist, undefined when it does not know. */
  peek(digest: string): VerifiableKey | null | undefined {
    const known = this.keys.get(digest) ?? (this.misses.get(digest) ? null : undefined);
    if (known !== undefined) this.hits++;
    return known;
  }

  /** The key with this digest, or null when there is none; read from storage when the cache does not know. */
  lookup(digest: string): VerifiableKey | null | Promise<VerifiableKey | null> {
    const known = this.peek(digest);
    if (known !== undefined) return known;
    return this.keys.load(digest, () => this.fetchIfKnown(digest), (found) => this.remember(digest, found));
  }

  /**
   * Drops what a change may have made stale: a key by digest, every key of a keyspace, or the keys
   * of a workspace that carry an identity's external id, hold a role, or (when only the workspace
   * is named) all of them. Only the named workspace's keys are looked at.
   */
  evict(change: KeyChangeTarget) {
    if (change.hash) this.forget(change.hash);
    const { workspaceId, keyspaceId, externalId, role } = change;
    if (!workspaceId && !keyspaceId) return;
    const stale = (record: KeyRecord) =>
      keyspaceId ? record.keyspaceId === keyspaceId : externalId ? record.externalId === externalId : role ? record.roles.includes(role) : true;
    if (!workspaceId) {
      this.keys.deleteWhere((key) => stale(key.record));
      return;
    }
    for (const digest of [...(this.byWorkspace.get(workspaceId) ?? [])]) {
      const key = this.keys.peek(digest);
      if (key && stale(key.record)) this.keys.delete(digest);
    }
  }

  /** Keeps a cached key's credit figures in step after this instance spent or refilled them. */
  noteCredits(digest: string, credits: Partial<Pick<NonNullable<KeyRecord["credits"]>, "remaining">> & { lastRefillAt?: Date }) {
    const record = this.keys.get(digest)?.record;
    if (!record?.credits) return;
    if (credits.remaining !== undefined) record.credits.remaining = credits.remaining;
    if (credits.lastRefillAt && record.credits.refill) record.credits.refill.lastRefillAt = credits.lastRefillAt;
  }

  /** Sizes now, and since the start: answers from memory, storage loads, and unknown digests answered without a load. */
  get stats() {
    return { entries: this.keys.size, bytes: this.keys.bytes, misses: this.misses.size, hits: this.hits, loads: this.loads, filtered: this.filtered };
  }

  private async fetchIfKnown(digest: string): Promise<VerifiableKey | null> {
    if (!(await this.options.known.mayExist(digest))) {
      this.filtered++;
      return null;
    }
    this.loads++;
    return this.compile(await this.store.findKeyByHash(digest));
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
    if (!key) {
      this.misses.set(digest, true);
      return;
    }
    this.keys.set(digest, key);
    // A key too large for the byte budget on its own is not kept.
    if (!this.keys.peek(digest)) return;
    const workspaceId = key.record.workspaceId;
    let digests = this.byWorkspace.get(workspaceId);
    if (!digests) this.byWorkspace.set(workspaceId, (digests = new Set()));
    digests.add(digest);
  }

  private unindex(digest: string, workspaceId: string) {
    const digests = this.byWorkspace.get(workspaceId);
    digests?.delete(digest);
    if (digests?.size === 0) this.byWorkspace.delete(workspaceId);
  }

  private forget(digest: string) {
    this.keys.delete(digest);
    this.misses.delete(digest);
  }
}

/**
 * About what a compiled key holds in memory: its record, identity and permissions as JSON, in
 * UTF-16, three times over for the objects around the strings and the compiled matchers.
 */
function approximateBytes(key: VerifiableKey): number {
  return 6 * JSON.stringify({ record: key.record, identity: key.identity, permissions: key.permissions }).length + 2048;
}
