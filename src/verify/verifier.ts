import { isRefillDue, refillPeriodStart } from "../domain/credits.js";
import type { KeyRecord, RateLimit } from "../domain/key.js";
import { type LimitCheck, type LimitOutcome, SlidingWindowLimiter } from "../domain/rate-limiter.js";
import { digestSecret, isWellFormedSecret, MAX_SECRET_LENGTH } from "../domain/secret.js";
import { type AccessRequest, checkAccess, type Verdict, type VerifiableKey } from "../domain/verification.js";
import type { Store } from "../store/store.js";
import type { KeyCache } from "./key-cache.js";
import type { UsageRecorder } from "./usage-recorder.js";

export interface VerifyRequest extends AccessRequest {
  secret: string;
  cost: number;
  rateLimitNames: readonly string[];
}

export interface VerifyResult {
  verdict: Verdict;
  /** Set whenever the key was found. */
  key?: VerifiableKey;
  creditsRemaining?: number;
  rateLimits: LimitOutcome[];
}

const NOT_FOUND: VerifyResult = Object.freeze({ verdict: "not_found", rateLimits: [] });

/**
 * Runs the checks in their documented order. Everything up to the rate limits is decided from
 * the cached key without touching storage; only credits need the store, because the balance
 * must be exact across instances.
 */
export class Verifier {
  private readonly limiter = new SlidingWindowLimiter();

  constructor(
    private readonly store: Store,
    private readonly cache: KeyCache,
    private readonly usage: UsageRecorder,
    private readonly now: () => number,
    private readonly onVerdict: (verdict: Verdict) => void = () => {},
  ) {}

  /** Answers without a promise when the key is cached and has no credits: the common case, and the fastest. */
  verify(request: VerifyRequest): VerifyResult | Promise<VerifyResult> {
    const result = this.judge(request);
    return result instanceof Promise ? result.then(this.counted) : this.counted(result);
  }

  private readonly counted = (result: VerifyResult) => {
    this.onVerdict(result.verdict);
    return result;
  };

  private judge(request: VerifyRequest): VerifyResult | Promise<VerifyResult> {
    if (request.secret.length > MAX_SECRET_LENGTH) return NOT_FOUND;
    const digest = digestSecret(request.secret);
    const known = this.cache.peek(digest);
    if (known !== undefined) return this.decide(known, digest, request);
    // Only a well-formed secret is worth a storage read. A digest the cache knows was checked when first seen.
    if (!isWellFormedSecret(request.secret)) return NOT_FOUND;
    const key = this.cache.lookup(digest);
    return key instanceof Promise ? key.then((loaded) => this.decide(loaded, digest, request)) : this.decide(key, digest, request);
  }

  private decide(key: VerifiableKey | null, digest: string, request: VerifyRequest): VerifyResult | Promise<VerifyResult> {
    if (!key) return NOT_FOUND;
    const record = key.record;
    const now = this.now();

    const denied = checkAccess(key, request, now);
    if (denied) return denied === "not_found" ? NOT_FOUND : this.answer(denied, key);

    const checks = [
      ...limitChecks(record.workspaceId, `key:${record.id}`, record.rateLimits, request.rateLimitNames),
      ...(key.identity ? limitChecks(record.workspaceId, `identity:${key.identity.id}`, key.identity.rateLimits, request.rateLimitNames) : []),
    ];
    const limits = checks.length > 0 ? this.limiter.apply(checks, now) : { admitted: true, outcomes: [] };
    if (!limits.admitted) return this.answer("rate_limited", key, limits.outcomes);

    if (!record.credits) {
      this.usage.record(record.id, now);
      return this.answer("valid", key, limits.outcomes);
    }
    return this.spendCredits(digest, record, request.cost, now).then((spent) => {
      if (!spent) return NOT_FOUND;
      if (!spent.spent) return this.answer("usage_exceeded", key, limits.outcomes, spent.remaining);
      this.usage.record(record.id, now);
      return this.answer("valid", key, limits.outcomes, spent.remaining);
    });
  }

  /** Refills first when a period has begun since the last refill, then spends; a cost of 0 only reads. */
  private async spendCredits(digest: string, record: KeyRecord, cost: number, now: number) {
    const credits = record.credits!;
    if (credits.refill && isRefillDue(credits.refill, record.createdAt, now)) {
      const periodStart = refillPeriodStart(credits.refill, record.createdAt, now);
      await this.store.refillCredits(record.id, periodStart, credits.refill.amount);
      this.cache.noteCredits(digest, { lastRefillAt: periodStart });
    }
    const spent = await this.store.spendCredits(record.id, cost);
    if (spent) this.cache.noteCredits(digest, { remaining: spent.remaining });
    return spent;
  }

  private answer(verdict: Verdict, key: VerifiableKey, rateLimits: LimitOutcome[] = [], creditsRemaining = key.record.credits?.remaining): VerifyResult {
    return { verdict, key, rateLimits, creditsRemaining };
  }
}

/** An identity's limits are counted under the identity, so every key of it draws on the same counter. */
const limitChecks = (workspaceId: string, owner: string, limits: readonly RateLimit[], named: readonly string[]): LimitCheck[] =>
  limits
    .filter((limit) => limit.autoApply || named.includes(limit.name))
    .map((limit) => ({ workspaceId, counter: `${owner}:${limit.name}`, name: limit.name, limit: limit.limit, durationMs: limit.durationMs }));
