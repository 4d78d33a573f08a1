import type { Logger } from "../observability/log.js";
import type { DigestSource, KeyChangeTarget } from "../store/store.js";
import type { ChangeSubscriber } from "./change-feed.js";

/**
 * A Bloom filter of the SHA-256 digests (hex) of every key and root key. Digests are uniformly
 * random already, so their own bits pick the filter's positions: no hashing per lookup.
 */
export class DigestFilter {
  private readonly bits: Uint32Array;
  private readonly mask: number;
  private added = 0;

  /** Sized for `capacity` digests at 16 bits each (false positives about 1 in 1700 when full). */
  constructor(readonly capacity: number) {
    const size = 2 ** Math.max(16, Math.ceil(Math.log2(capacity * BITS_PER_DIGEST)));
    this.bits = new Uint32Array(size / 32);
    this.mask = size - 1;
  }

  add(digest: string) {
    this.added++;
    const [first, step] = positions(digest);
    for (let probe = 0; probe < PROBES; probe++) {
      const bit = (first + Math.imul(probe, step)) & this.mask;
      this.bits[bit >>> 5]! |= 1 << (bit & 31);
    }
  }

  has(digest: string): boolean {
    const [first, step] = positions(digest);
    for (let probe = 0; probe < PROBES; probe++) {
      const bit = (first + Math.imul(probe, step)) & this.mask;
      if ((this.bits[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }

  get full() {
    return this.added > this.capacity;
  }

  get bytes() {
    return this.bits.byteLength;
  }
}

const BITS_PER_DIGEST = 16;
const PROBES = 8;

/** Two independent 32-bit words of the digest; the step is odd so probes cycle through every position. */
function positions(digest: string): [number, number] {
  return [Number.parseInt(digest.slice(0, 8), 16) | 0, Number.parseInt(digest.slice(8, 16), 16) | 1];
}

export interface KnownDigestsOptions {
  /** A full rebuild from the store this often drops digests of deleted keys and catches anything the change feed lost. */
  rebuildMs: number;
  /** Resolves once every change recorded before the call is applied: the change feed's catchUp. */
  catchUp: () => Promise<void>;
  log: Logger;
}

/**
 * Which digests may belong to a key or root key, so an unknown secret costs no storage read: the
 * filter answers "certainly not" for all but a small fraction. It is built from the store at
 * start (until then every digest may exist, and lookups read the store as before) and kept
 * current by the change feed, which names the digest of every key and root key created, here or
 * on another instance.
 *
 * A key created on another instance a moment ago may not be in the filter yet: before "certainly
 * not" is final, the change feed catches up, with one read shared by every lookup waiting then.
 */
export class KnownDigests implements ChangeSubscriber {
  private filter: DigestFilter | undefined;
  /** Digests learnt while a build runs, added to the new filter before it replaces the old, so none is lost in the swap. */
  private learntDuringBuild: string[] | undefined;
  private building: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: DigestSource,
    private readonly options: KnownDigestsOptions,
  ) {}

  /** True at once when the digest may exist; a digest the filter rules out is checked again after the change feed has caught up. */
  mayExist(digest: string): boolean | Promise<boolean> {
    if (!this.filter || this.filter.has(digest)) return true;
    return this.options.catchUp().then(() => this.filter!.has(digest));
  }

  /** Without waiting on anything: false only when the built filter rules the digest out. */
  mightHold(digest: string): boolean {
    return !this.filter || this.filter.has(digest);
  }

  evict(change: KeyChangeTarget) {
    if (change.hash) this.add(change.hash);
    if (change.rootKeyHash) this.add(change.rootKeyHash);
  }

  add(digest: string) {
    this.filter?.add(digest);
    this.learntDuringBuild?.push(digest);
    if (this.filter?.full) void this.rebuild();
  }

  /** Builds a new filter from every digest in the store; one build at a time. */
  rebuild(): Promise<void> {
    this.building ??= this.build().finally(() => (this.building = undefined));
    return this.building;
  }

  start() {
    void this.rebuild();
    this.timer = setInterval(() => void this.rebuild(), this.options.rebuildMs);
    this.timer.unref();
  }

  async stop() {
    clearInterval(this.timer);
    await this.building;
  }

  get stats() {
    return { ready: this.filter !== undefined, bytes: this.filter?.bytes ?? 0 };
  }

  private async build() {
    const learnt: string[] = [];
    this.learntDuringBuild = learnt;
    try {
      // Room to double before the next build, which a full filter starts early.
      const next = new DigestFilter(Math.max(1024, 2 * (await this.store.countDigests())));
      for await (const digest of this.store.digests()) next.add(digest);
      for (const digest of learnt) next.add(digest);
      this.filter = next;
    } catch (error) {
      this.options.log.warn("building the known-digest filter failed", { error: String(error) });
    } finally {
      this.learntDuringBuild = undefined;
    }
  }
}
