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
  now: () => number;
}

interface Entry<V> {
  value: V;
  bytes: number;
  expiresAt: number;
  /** Set on each hit; eviction passes over a used entry once (the CLOCK algorithm), so hits never reorder the map. */
  used: boolean;
}

/**
 * A map bounded in entries and age, evicting roughly least recently used first. Concurrent loads of
 * one key share a single load, and a load that overlapped a deletion is not kept: it may have read
 * what the deletion was about.
 */
export class BoundedCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly loading = new Map<string, Promise<unknown>>();
  /** Moves on each deletion, so a load that raced with one is not kept. */
  private generation = 0;
  private totalBytes = 0;

  constructor(private readonly options: BoundedCacheOptions<V>) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.options.now()) {
      this.remove(key);
      return undefined;
    }
    entry.used = true;
    return entry.value;
  }

  set(key: string, value: V, ttlMs = this.options.ttlMs) {
    this.remove(key);
    const bytes = this.options.sizeOf?.(value) ?? 0;
    this.entries.set(key, { value, bytes, expiresAt: this.options.now() + ttlMs, used: false });
    this.totalBytes += bytes;
    this.evictBeyondCap();
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

  /**
   * Runs `loader` once for however many callers ask for `key` at the same time, and hands its result
   * to `keep` unless a deletion happened while it ran.
   */
  load<T>(key: string, loader: () => Promise<T>, keep: (loaded: T) => void): Promise<T> {
    const pending = this.loading.get(key);
    if (pending) return pending as Promise<T>;
    const generation = this.generation;
    const loaded = loader()
      .then((value) => {
        if (generation === this.generation) keep(value);
        return value;
      })
      .finally(() => this.loading.delete(key));
    this.loading.set(key, loaded);
    return loaded;
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

  private remove(key: string) {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.totalBytes -= entry.bytes;
    this.options.onRemove?.(key, entry.value);
  }

  private overCap() {
    return this.entries.size > this.options.maxEntries || this.totalBytes > (this.options.maxBytes ?? Infinity);
  }

  /** Walks the entries oldest first, giving each used one a second chance at the back. */
  private evictBeyondCap() {
    while (this.overCap()) {
      const [key, entry] = this.entries.entries().next().value!;
      if (entry.used) {
        entry.used = false;
        this.entries.delete(key);
        this.entries.set(key, entry);
      } else {
        this.remove(key);
      }
    }
  }
}
