export interface BoundedCacheOptions<V> {
  maxEntries: number;
  /** With `sizeOf`: the most the entries may weigh together, so a few large values cannot exhaust memory. */
  maxBytes?: number;
  /** About how many bytes of memory a value holds. */
  sizeOf?: (value: V) => number;
  /** Told of every entry that leaves, however it leaves: for indexes kept beside the cache. */
  onRemove?: (key: string, value: V) => void;
  /** How long an entry lives unless `set` says otherwise. */
  ttlMs: number;
  /**
   * A fraction of each entry's time taken off at random, so that entries set together (the keys a
   * new instance loads in its first seconds) come due spread out rather than all at once, and their
   * refreshes with them. An entry never lives longer than it was given.
   */
  ttlSpread?: number;
  /** Draws the share of `ttlSpread` taken off, in [0, 1). */
  random?: () => number;
  /**
   * With `onStale`: how long past its time an entry is still answered while `onStale` refreshes
   * it, so no caller waits for what the cache holds; an entry unused for longer is dropped.
   */
  staleMs?: number;
  /** Told when an entry past its time is answered: it should load the entry anew (through `load`). */
  onStale?: (key: string, value: V) => void;
  /**
   * Entries are grouped (by the part of their key this returns), and each group's share is
   * `partitionShare` of `maxEntries` and of `maxBytes`. A group may hold more while there is room;
   * when the cache is full, groups beyond their share make room first (the group being added to
   * when it is one of them), so a group filling the cache cannot push out another's within its share.
   */
  partitionOf?: (key: string) => string;
  partitionShare?: number;
  now: () => number;
}

interface Entry<V> {
  value: V;
  bytes: number;
  expiresAt: number;
  /** Set on each hit; eviction passes over a used entry once (the CLOCK algorithm), so hits never reorder the map. */
  used: boolean;
}

interface Partition {
  name: string;
  /** In insertion order, which eviction walks like the whole cache's. */
  keys: Set<string>;
  bytes: number;
}

/**
 * A map bounded in entries and age, evicting roughly least recently used first. Concurrent loads of
 * one key share a single load, and a load that overlapped a deletion is not kept: it may have read
 * what the deletion was about.
 */
export class BoundedCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly loading = new Map<string, Promise<unknown>>();
  private readonly partitions = new Map<string, Partition>();
  /** The partitions holding more than their share, which make room first. */
  private readonly beyond = new Set<string>();
  /** Moves on each deletion, so a load that raced with one is not kept. */
  private generation = 0;
  private totalBytes = 0;

  constructor(private readonly options: BoundedCacheOptions<V>) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.options.now()) {
      const { onStale, staleMs = 0 } = this.options;
      if (!onStale || entry.expiresAt + staleMs <= this.options.now()) {
        this.remove(key);
        return undefined;
      }
      if (!this.loading.has(key)) onStale(key, entry.value);
    }
    entry.used = true;
    return entry.value;
  }

  set(key: string, value: V, ttlMs = this.options.ttlMs) {
    this.remove(key);
    const bytes = this.options.sizeOf?.(value) ?? 0;
    this.entries.set(key, { value, bytes, expiresAt: this.options.now() + this.lifetime(ttlMs), used: false });
    this.totalBytes += bytes;
    const partition = this.partitionOf(key);
    if (partition) {
      partition.keys.add(key);
      partition.bytes += bytes;
    }
    this.evictBeyondCap(partition);
  }

  /** Gives an entry a new time, as `set` would, keeping its value, its size and its place. */
  renew(key: string, ttlMs = this.options.ttlMs) {
    const entry = this.entries.get(key);
    if (entry) entry.expiresAt = this.options.now() + this.lifetime(ttlMs);
  }

  delete(key: string) {
    this.generation++;
    this.remove(key);
  }

  /** Deletes every entry the predicate picks: a scan, for changes that name no single key. */
  deleteWhere(stale: (value: V, key: string) => boolean) {
    this.generation++;
    for (const [key, entry] of this.entries) if (stale(entry.value, key)) this.remove(key);
  }

  /** Deletes the entries of one partition the predicate picks, looking at no other. */
  deleteInPartition(name: string, stale: (value: V, key: string) => boolean) {
    this.generation++;
    for (const key of [...(this.partitions.get(name)?.keys ?? [])]) {
      const entry = this.entries.get(key);
      if (entry && stale(entry.value, key)) this.remove(key);
    }
  }

  /**
   * Runs `loader` once for however many callers ask for `key` at the same time, and hands its result
   * to `keep` unless a deletion happened while it ran; then an entry it was refreshing goes too. A
   * loader that waits before it reads calls `reading` as its read begins: only deletions from then
   * on can have been about something the read missed.
   */
  load<T>(key: string, loader: (reading: () => void) => Promise<T>, keep: (loaded: T) => void): Promise<T> {
    const pending = this.loading.get(key);
    if (pending) return pending as Promise<T>;
    let generation = this.generation;
    const loaded = loader(() => (generation = this.generation))
      .then((value) => {
        if (generation === this.generation) keep(value);
        else if ((this.entries.get(key)?.expiresAt ?? Infinity) <= this.options.now()) this.remove(key);
        return value;
      })
      .finally(() => this.loading.delete(key));
    this.loading.set(key, loaded);
    return loaded;
  }

  /** Removes one entry a load found outdated; unlike `delete`, loads in flight are kept. */
  discard(key: string) {
    this.remove(key);
  }

  get size() {
    return this.entries.size;
  }

  get bytes() {
    return this.totalBytes;
  }

  /** The value without counting a use: for a scan that decides what to delete. */
  peek(key: string): V | undefined {
    return this.entries.get(key)?.value;
  }

  /** How many entries a partition holds. */
  sizeOf(name: string): number {
    return this.partitions.get(name)?.keys.size ?? 0;
  }

  private lifetime(ttlMs: number) {
    const { ttlSpread, random = Math.random } = this.options;
    return ttlSpread ? ttlMs * (1 - ttlSpread * random()) : ttlMs;
  }

  private partitionOf(key: string): Partition | undefined {
    const name = this.options.partitionOf?.(key);
    if (name === undefined) return undefined;
    let partition = this.partitions.get(name);
    if (!partition) this.partitions.set(name, (partition = { name, keys: new Set(), bytes: 0 }));
    return partition;
  }

  private beyondShare(partition: Partition) {
    const share = this.options.partitionShare ?? 1;
    return partition.keys.size > Math.max(1, Math.floor(this.options.maxEntries * share)) || partition.bytes > (this.options.maxBytes ?? Infinity) * share;
  }

  /** Notes whether a partition that grew or shrank is now beyond its share. */
  private reshare(partition: Partition) {
    if (partition.keys.size > 0 && this.beyondShare(partition)) this.beyond.add(partition.name);
    else this.beyond.delete(partition.name);
  }

  private remove(key: string) {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.totalBytes -= entry.bytes;
    const name = this.options.partitionOf?.(key);
    const partition = name === undefined ? undefined : this.partitions.get(name);
    if (partition) {
      partition.keys.delete(key);
      partition.bytes -= entry.bytes;
      this.reshare(partition);
      if (partition.keys.size === 0) this.partitions.delete(name!);
    }
    this.options.onRemove?.(key, entry.value);
  }

  private overCap() {
    return this.entries.size > this.options.maxEntries || this.totalBytes > (this.options.maxBytes ?? Infinity);
  }

  /**
   * Makes room from the partition beyond its share that holds the most of what is over the cap
   * (entries or bytes; the one just added to wins a tie), else from the whole cache: each walk goes
   * oldest first, giving each used entry a second chance at the back.
   */
  private evictBeyondCap(added: Partition | undefined) {
    if (added) this.reshare(added);
    while (this.overCap()) {
      const weight =
        this.totalBytes > (this.options.maxBytes ?? Infinity) ? (partition: Partition) => partition.bytes : (partition: Partition) => partition.keys.size;
      let furthest = added && this.beyond.has(added.name) ? added : undefined;
      for (const name of this.beyond) {
        const partition = this.partitions.get(name)!;
        if (!furthest || weight(partition) > weight(furthest)) furthest = partition;
      }
      this.evictFrom(furthest ? furthest.keys : this.entries.keys());
    }
  }

  /**
   * Evicts the first unused entry of `keys`, in order, moving used ones it passes to the back (a
   * walk that reaches them again, as a Map's and a Set's do, finds them unused then).
   */
  private evictFrom(keys: Set<string> | Iterable<string>) {
    for (const key of keys) {
      const entry = this.entries.get(key)!;
      if (!entry.used) {
        this.remove(key);
        return;
      }
      entry.used = false;
      this.entries.delete(key);
      this.entries.set(key, entry);
      if (keys instanceof Set) {
        keys.delete(key);
        keys.add(key);
      }
    }
  }
}
