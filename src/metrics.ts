import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** Seconds, from sub-millisecond cache hits to calls that waited on a slow database. */
const DURATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What the cache figures are read from when Prometheus scrapes. */
export interface CacheFigures {
  stats: { entries: number; misses: number; hits: number; loads: number };
}

/**
 * One instance's Prometheus metrics, in a registry of its own so that several instances in one
 * process (as in tests) never mix their figures. Recording is a counter bump or a histogram bucket,
 * with label children looked up once per label set.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly rpcDuration = new Histogram({
    name: "latchkey_rpc_duration_seconds",
    help: "RPCs by procedure and gRPC code, with how long they took; _count is the number of calls.",
    labelNames: ["procedure", "code"] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  private readonly verifications = new Counter({
    name: "latchkey_verifications_total",
    help: "Key verifications by verdict code.",
    labelNames: ["code"] as const,
    registers: [this.registry],
  });
  private readonly storeDuration = new Histogram({
    name: "latchkey_store_call_duration_seconds",
    help: "Calls to the store by method and outcome.",
    labelNames: ["method", "outcome"] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  private readonly feedLag = new Histogram({
    name: "latchkey_change_feed_lag_seconds",
    help: "From a change being recorded by another instance to this instance dropping what it made stale.",
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers: [this.registry],
  });
  private readonly usageFlushFailures = new Counter({
    name: "latchkey_usage_flush_failures_total",
    help: "Batches of last-used times that could not be written (they are retried with the next batch).",
    registers: [this.registry],
  });
  private readonly children = new Map<string, { observe(value: number): void } | { inc(): void }>();

  /** Exposes the key cache's figures, read at scrape time so that verification pays nothing for them. */
  watchKeyCache(cache: CacheFigures) {
    const registers = [this.registry];
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({ name, help, registers, collect: function (this: Gauge) { this.set(read()); } });
    const counter = (name: string, help: string, read: () => number) =>
      new Counter({ name, help, registers, collect: function (this: Counter) { this.reset(); this.inc(read()); } });
    gauge("latchkey_key_cache_entries", "Keys cached by digest.", () => cache.stats.entries);
    gauge("latchkey_key_cache_unknown_digests", "Digests cached as belonging to no key.", () => cache.stats.misses);
    counter("latchkey_key_cache_hits_total", "Verifications answered from the cache.", () => cache.stats.hits);
    counter("latchkey_key_cache_misses_total", "Verifications that had to read the store.", () => cache.stats.loads);
  }

  rpc(procedure: string, code: string, seconds: number) {
    this.child(`rpc ${procedure} ${code}`, () => this.rpcDuration.labels(procedure, code)).observe(seconds);
  }

  verification(code: string) {
    this.child(`verify ${code}`, () => this.verifications.labels(code)).inc();
  }

  storeCall(method: string, outcome: "ok" | "error", seconds: number) {
    this.child(`store ${method} ${outcome}`, () => this.storeDuration.labels(method, outcome)).observe(seconds);
  }

  changeApplied(lagMs: number) {
    this.feedLag.observe(Math.max(0, lagMs) / 1000);
  }

  usageFlushFailed() {
    this.usageFlushFailures.inc();
  }

  /** Prometheus text exposition. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  private child<T extends object>(id: string, make: () => T): T {
    let child = this.children.get(id);
    if (!child) this.children.set(id, (child = make() as never));
    return child as T;
  }
}
