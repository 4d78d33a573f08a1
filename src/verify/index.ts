import type { Logger } from "../log.js";
import type { Store } from "../store/store.js";
import { KeyChangeFeed } from "./change-feed.js";
import { KeyCache } from "./key-cache.js";
import { UsageRecorder } from "./usage-recorder.js";
import { Verifier } from "./verifier.js";

export interface VerificationOptions {
  cacheMaxKeys: number;
  cacheMaxMisses: number;
  changePollMs: number;
  usageFlushMs: number;
}

export const DEFAULT_VERIFICATION_OPTIONS: VerificationOptions = {
  cacheMaxKeys: 100_000,
  cacheMaxMisses: 100_000,
  changePollMs: 200,
  usageFlushMs: 2000,
};

/** The verification machinery of one instance: cache, change feed, usage recorder and verifier. */
export function createVerification(store: Store, now: () => number, log: Logger, options: VerificationOptions) {
  const cache = new KeyCache(store, {
    maxEntries: options.cacheMaxKeys,
    maxMisses: options.cacheMaxMisses,
    ttlMs: 60_000,
    missTtlMs: 10_000,
    now,
  });
  const changes = new KeyChangeFeed(store, cache, { pollMs: options.changePollMs, overlapMs: 2000, retentionMs: 3_600_000, now, log });
  const usage = new UsageRecorder(store, { flushMs: options.usageFlushMs, log });
  return {
    cache,
    changes,
    usage,
    verifier: new Verifier(store, cache, usage, now),
    start() {
      changes.start();
      usage.start();
    },
    async stop() {
      await changes.stop();
      await usage.stop();
    },
  };
}

export type Verification = ReturnType<typeof createVerification>;
