import { randomBytes } from "node:crypto";
import { DEFAULT_RETENTION } from "../domain/analytics/buckets.js";
import type { Logger } from "../observability/log.js";
import { Metrics } from "../observability/metrics.js";
import { DEFAULT_STORE_TIMEOUT_MS } from "../store/guarded.js";
import type { Store } from "../store/store.js";
import { KeyChangeFeed } from "./change-feed.js";
import { KnownDigests } from "./known-digests.js";
import { CreditShares } from "./credit-shares.js";
import { Credentials } from "./credentials.js";
import { KeyCache } from "./key-cache.js";
import { KeyRateLimits } from "./key-rate-limits.js";
import { SharedRateLimits } from "./shared-rate-limits.js";
import { RatelimitOverrides } from "./ratelimit-overrides.js";
import { Ratelimiter } from "./ratelimiter.js";
import { SlidingRateLimits } from "./sliding-rate-limits.js";
import { type AnalyticsOptions, AnalyticsRecorder } from "./analytics-recorder.js";
import { UsageRecorder } from "./usage-recorder.js";
import { Verifier } from "./verifier.js";

export interface VerificationOptions {
  cacheMaxKeys: number;
  cacheMaxBytes: number;
  cacheMaxMisses: number;
  /** The most of each cache limit above one workspace may take, in percent (docs/verification-cache.md). */
  cacheWorkspaceSharePercent: number;
  changePollMs: number;
  usageFlushMs: number;
  /** last_used_at is written when it moves on by at least this much. */
  lastUsedResolutionMs: number;
  /**
   * How long a credit share stays its instance's alone after its last claim; then an instance
   * that runs short may take its unclaimed units back, after a third more (for clocks that
   * disagree). An unused share is given back after twenty times this.
   */
  creditShareLeaseMs: number;
  analytics: AnalyticsOptions;
}

export const DEFAULT_VERIFICATION_OPTIONS: VerificationOptions = {
  cacheMaxKeys: 100_000,
  cacheMaxBytes: 256 * 1024 * 1024,
  cacheMaxMisses: 100_000,
  cacheWorkspaceSharePercent: 50,
  changePollMs: 200,
  usageFlushMs: 2000,
  lastUsedResolutionMs: 60_000,
  creditShareLeaseMs: 15_000,
  analytics: { enabled: true, flushMs: 5000, maxGroupsPerMinute: 10_000, retention: DEFAULT_RETENTION },
};

const MAX_CACHED_ROOT_KEYS = 10_000;
/** When a cached key or root key is read again in the background: the change feed brings changes; this only backs it up. */
export const CACHE_TTL_MS = 60_000;
/**
 * Each cached key and root key is refreshed up to this share of CACHE_TTL_MS early, at random. An
 * instance reads the keys in use within its first seconds, so without it they would all come due
 * in the same few seconds every minute: a wave of reads, decoding and garbage that stalls answers.
 */
export const CACHE_TTL_SPREAD = 0.25;
/** How long a key or root key unused since its refresh was due is still answered at once; after that it is dropped and read while the caller waits. */
export const CACHE_STALE_MS = 15 * 60_000;
/**
 * Keys found past CACHE_TTL_MS within this long of each other are read again together, with one
 * store call per workspace. Keys in steady use come due spread over the TTL, each when it was last
 * read, so this window, not the batch size, sets the reads of up to a few thousand keys: a tenth of
 * the TTL holds a workspace to ten reads per TTL, and more keys fill batches of MAX_REFRESH_BATCH.
 */
export const CACHE_REFRESH_BATCH_MS = CACHE_TTL_MS / 10;
/** An instance asked to give a key's share back takes none of it for this many change-feed polls. */
const RELEASE_HOLD_POLLS = 5;
/**
 * A SET waits this many change-feed polls after asking for shares back, plus the longest a store
 * call may take: a holder whose feed began a read within that span gave its share back. A read as
 * slow as the store may be still counts, so a slow store or a busy machine never turns spending
 * past the lease into a claim per key.
 */
const RECALL_WAIT_POLLS = 4;

/**
 * The verification machinery of one instance: the key cache and root-key credentials, the change
 * feed that keeps both current across instances, the usage recorder and the verifier; and the
 * rate limiter of RatelimitService, whose overrides the change feed keeps current too.
 */
export function createVerification(
  store: Store,
  now: () => number,
  log: Logger,
  options: VerificationOptions & { adminToken?: string; metrics?: Metrics; storeTimeoutMs?: number },
) {
  const metrics = options.metrics ?? new Metrics();
  const known: KnownDigests = new KnownDigests(store, { rebuildMs: 15 * 60_000, catchUp: (): Promise<void> => changes.catchUp(), log });
  const cache = new KeyCache(store, {
    known,
    maxEntries: options.cacheMaxKeys,
    maxBytes: options.cacheMaxBytes,
    maxMisses: options.cacheMaxMisses,
    workspaceShare: options.cacheWorkspaceSharePercent / 100,
    ttlMs: CACHE_TTL_MS,
    ttlSpread: CACHE_TTL_SPREAD,
    staleMs: CACHE_STALE_MS,
    refreshBatchMs: CACHE_REFRESH_BATCH_MS,
    missTtlMs: 10_000,
    now,
  });
  metrics.watchKeyCache(cache, known);
  const credentials = new Credentials(store, {
    known,
    maxRootKeys: MAX_CACHED_ROOT_KEYS,
    ttlMs: CACHE_TTL_MS,
    ttlSpread: CACHE_TTL_SPREAD,
    staleMs: CACHE_STALE_MS,
    adminToken: options.adminToken,
    now,
  });
  const creditShares = new CreditShares(store, {
    holder: `i${randomBytes(8).toString("hex")}`,
    now,
    log,
    leaseMs: options.creditShareLeaseMs,
    graceMs: Math.ceil(options.creditShareLeaseMs / 3),
    idleMs: options.creditShareLeaseMs * 20,
    maxShares: options.cacheMaxKeys,
    requestRelease: (keyId) => changes.publish({ releaseCreditsOf: keyId }),
    releaseRequestMs: options.changePollMs,
    feedCurrentSince: () => changes.currentSince,
    catchUpFeed: () => changes.catchUp(),
    recallWaitMs: RECALL_WAIT_POLLS * options.changePollMs + (options.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS),
    releaseHoldMs: RELEASE_HOLD_POLLS * options.changePollMs,
  });
  const limits = new SharedRateLimits(store, { now, log });
  metrics.watchCounters(creditShares, limits);
  const ratelimitOverrides = new RatelimitOverrides(store.ratelimits, { now, ttlMs: 60_000 });
  const slidingLimits = new SlidingRateLimits(store.ratelimits, { now, log });
  const changes: KeyChangeFeed = new KeyChangeFeed(store, [known, cache, credentials, creditShares, ratelimitOverrides], {
    pollMs: options.changePollMs,
    gapWaitMs: 5000,
    retentionMs: 3_600_000,
    now,
    log,
    onApplied: (at) => metrics.changeApplied(now() - at.getTime()),
    // A change never written may have been a new key's: only a rebuild would tell the filter.
    onSkipped: () => void known.rebuild(),
  });
  const analytics = options.analytics.enabled
    ? new AnalyticsRecorder(store, { ...options.analytics, now, log, figures: metrics.analyticsFigures() })
    : undefined;
  const usage = new UsageRecorder(store, {
    flushMs: options.usageFlushMs,
    resolutionMs: options.lastUsedResolutionMs,
    log,
    onFailure: () => metrics.usageFlushFailed(),
  });
  return {
    known,
    cache,
    credentials,
    changes,
    usage,
    metrics,
    creditShares,
    ratelimiter: new Ratelimiter(
      ratelimitOverrides,
      slidingLimits,
      analytics && ((workspaceId, ask, success) => analytics.recordLimit(workspaceId, ask.namespace, ask.identifier, success)),
    ),
    analytics,
    verifier: new Verifier(
      cache,
      known,
      new KeyRateLimits(limits, slidingLimits),
      creditShares,
      store,
      usage,
      now,
      analytics
        ? (request, result) => {
            metrics.verification(result.verdict);
            analytics.recordVerification(request, result);
          }
        : (_, result) => metrics.verification(result.verdict),
    ),
    async start() {
      await changes.start();
      known.start();
      usage.start();
      analytics?.start();
      creditShares.start();
      limits.start();
      slidingLimits.start();
    },
    async stop() {
      await changes.stop();
      await known.stop();
      await usage.stop();
      await analytics?.stop();
      limits.stop();
      slidingLimits.stop();
      await creditShares.stop();
    },
  };
}

export type Verification = ReturnType<typeof createVerification>;
