import { Counter, collectDefaultMetrics, Gauge, Histogram, type Metric, Registry } from "prom-client";

/** Seconds, from sub-millisecond cache hits to calls that waited on a slow database. */
const DURATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What the cache figures are read from when Prometheus scrapes. */
export interface CacheFigures {
  stats: { entries: number; bytes: number; misses: number; hits: number; loads: number; refreshes: number; filtered: number };
}

export interface FilterFigures {
  stats: { ready: boolean; bytes: number };
}

/** One label set's histogram: counts per bucket (not yet cumulative), sum and count. */
class Series {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Record<string, string>,
    buckets: number,
  ) {
    this.counts = new Float64Array(buckets);
  }
}

/**
 * A histogram or counter on the per-call path. prom-client hashes the label object on every
 * observation, which costs more than a cached verification; these find their series by a key the
 * caller already holds and leave the formatting to scrape time. The registry prints their values
 * like its own.
 */
class HotMetric {
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "histogram" | "counter",
    private readonly buckets: readonly number[],
  ) {}

  /** The series of these labels, made on first use; `key` names the label set. */
  seriesOf(key: string, labels: () => Record<string, string>): Series {
    let series = this.series.get(key);
    if (!series) this.series.set(key, (series = new Series(labels(), this.buckets.length)));
    return series;
  }

  observe(series: Series, value: number) {
    const bucket = this.buckets.findIndex((bound) => value <= bound);
    if (bucket !== -1) series.counts[bucket]!++;
    series.sum += value;
    series.count++;
  }

  async get() {
    const values = [...this.series.values()].flatMap((series) => {
      if (this.type === "counter") return [{ labels: series.labels, value: series.count }];
      let cumulative = 0;
      return [
        ...this.buckets.map((bound, i) => ({
          metricName: `${this.name}_bucket`,
          labels: { ...series.labels, le: String(bound) },
          value: (cumulative += series.counts[i]!),
        })),
        { metricName: `${this.name}_bucket`, labels: { ...series.labels, le: "+Inf" }, value: series.count },
        { metricName: `${this.name}_sum`, labels: series.labels, value: series.sum },
        { metricName: `${this.name}_count`, labels: series.labels, value: series.count },
      ];
    });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: "sum" };
  }

  reset() {
    this.series.clear();
  }
}

/**
 * One instance's Prometheus metrics, in a registry of its own so that several instances in one
 * process (as in tests) never mix their figures.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly rpcDuration = this.hot(
    new HotMetric(
      "latchkey_rpc_duration_seconds",
      "RPCs by procedure and gRPC code, with how long they took; _count is the number of calls.",
      "histogram",
      DURATION_BUCKETS,
    ),
  );
  private readonly verifications = this.hot(new HotMetric("latchkey_verifications_total", "Key verifications by verdict code.", "counter", []));
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
  private readonly usageFlushFailures = this.counter(
    "latchkey_usage_flush_failures_total",
    "Batches of last-used times that could not be written (they are retried with the next batch).",
  );

  private readonly analyticsRows = this.counter("latchkey_analytics_rows_written_total", "Analytics documents added to in the store (one $inc upsert each).");
  private readonly analyticsFlushFailures = this.counter(
    "latchkey_analytics_flush_failures_total",
    "Analytics writes that failed (their documents are retried with the next flush).",
  );
  private readonly analyticsRowsDropped = this.counter(
    "latchkey_analytics_rows_dropped_total",
    "Analytics documents given up because too many were waiting for a store that kept failing.",
  );

  /**
   * Adds the process's own figures (CPU seconds, memory, garbage-collection pauses by kind,
   * event-loop delay since the last scrape): what a verification's latency went to when it was not
   * the store. Only for an instance that has its process to itself, since they describe the process.
   */
  watchProcess() {
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 });
  }

  /** Exposes the key cache's and the known-digest filter's figures, read at scrape time so that verification pays nothing for them. */
  watchKeyCache(cache: CacheFigures, known: FilterFigures) {
    this.scrapedGauge("latchkey_key_cache_entries", "Keys cached by digest.", () => cache.stats.entries);
    this.scrapedGauge("latchkey_key_cache_bytes", "About what the cached keys hold in memory (CACHE_MAX_BYTES caps it).", () => cache.stats.bytes);
    this.scrapedGauge("latchkey_key_cache_unknown_digests", "Digests cached as belonging to no key.", () => cache.stats.misses);
    this.scrapedCounter("latchkey_key_cache_hits_total", "Verifications answered from the cache.", () => cache.stats.hits);
    this.scrapedCounter("latchkey_key_cache_misses_total", "Verifications that had to read the store.", () => cache.stats.loads);
    this.scrapedCounter(
      "latchkey_key_cache_refreshes_total",
      "Cached keys past their time read again in the background while still answered.",
      () => cache.stats.refreshes,
    );
    this.scrapedCounter(
      "latchkey_key_cache_filtered_total",
      "Unknown digests answered without a read: the known-digest filter ruled them out.",
      () => cache.stats.filtered,
    );
    this.scrapedGauge("latchkey_known_digest_filter_ready", "1 once the known-digest filter is built; until then unknown digests cost a read.", () =>
      Number(known.stats.ready),
    );
    this.scrapedGauge("latchkey_known_digest_filter_bytes", "Memory held by the known-digest filter.", () => known.stats.bytes);
  }

  watchCounters(shares: { stats: { shares: number; claimed: number } }, limits: { counters: number }) {
    this.scrapedGauge("latchkey_credit_shares", "Keys whose credits this instance spends from a share of its own.", () => shares.stats.shares);
    this.scrapedGauge(
      "latchkey_credit_claimed_units",
      "Credits this instance has claimed from its shares and not spent: what a crash now would lose.",
      () => shares.stats.claimed,
    );
    this.scrapedGauge("latchkey_rate_limit_counters", "Rate-limit counters this instance holds allowances for.", () => limits.counters);
  }

  /** Records one procedure's calls by code; made once per procedure, so a call builds no label key. */
  rpcRecorder(procedure: string): (code: string, seconds: number) => void {
    const byCode = new Map<string, Series>();
    return (code, seconds) => {
      let series = byCode.get(code);
      if (!series) byCode.set(code, (series = this.rpcDuration.seriesOf(`${procedure} ${code}`, () => ({ procedure, code }))));
      this.rpcDuration.observe(series, seconds);
    };
  }

  verification(code: string) {
    this.verifications.seriesOf(code, () => ({ code })).count++;
  }

  storeCall(method: string, outcome: "ok" | "error" | "timeout", seconds: number) {
    this.storeDuration.observe({ method, outcome }, seconds);
  }

  changeApplied(lagMs: number) {
    this.feedLag.observe(Math.max(0, lagMs) / 1000);
  }

  usageFlushFailed() {
    this.usageFlushFailures.inc();
  }

  analyticsFigures() {
    return {
      rowsWritten: (count: number) => this.analyticsRows.inc(count),
      flushFailed: () => this.analyticsFlushFailures.inc(),
      rowsDropped: (count: number) => this.analyticsRowsDropped.inc(count),
    };
  }

  /** Prometheus text exposition. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  private counter(name: string, help: string) {
    return new Counter({ name, help, registers: [this.registry] });
  }

  /** A gauge read at scrape time, so that what it shows costs nothing between scrapes. */
  private scrapedGauge(name: string, help: string, read: () => number) {
    return new Gauge({
      name,
      help,
      registers: [this.registry],
      collect: function (this: Gauge) {
        this.set(read());
      },
    });
  }

  /** A counter read at scrape time from a running total kept elsewhere. */
  private scrapedCounter(name: string, help: string, read: () => number) {
    return new Counter({
      name,
      help,
      registers: [this.registry],
      collect: function (this: Counter) {
        this.reset();
        this.inc(read());
      },
    });
  }

  private hot(metric: HotMetric) {
    this.registry.registerMetric(metric as unknown as Metric);
    return metric;
  }
}
