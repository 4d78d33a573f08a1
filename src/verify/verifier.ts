import { creditBalance, isRefillDue, refillPeriodStart } from "../domain/credits.js";
import type { KeyRecord, RateLimit } from "../domain/key.js";
import { type LimitOutcome, windowLength } from "../domain/fixed-window.js";
import { limitCounter } from "../domain/key-rate-limits.js";
import { digestSecret, isWellFormedSecret, MAX_PRESENTED_SECRET_LENGTH } from "../domain/secret.js";
import { type AccessRequest, checkAccess, type Verdict, type VerifiableKey } from "../domain/verification.js";
import type { CreditStore } from "../store/store.js";
import type { CreditShares, CreditSpend } from "./credit-shares.js";
import type { KeyCache } from "./key-cache.js";
import type { KnownDigests } from "./known-digests.js";
import type { KeyLimitCheck, KeyRateLimits } from "./key-rate-limits.js";
import type { LimitResult } from "./shared-rate-limits.js";
import type { UsageRecorder } from "./usage-recorder.js";

export interface VerifyRequest extends AccessRequest {
  secret: string;
  cost: number;
  rateLimitNames: readonly string[];
  /** Labels the verification is counted under in analytics; none when absent. */
  tags?: readonly string[];
}

export interface VerifyResult {
  verdict: Verdict;
  /** Set whenever the key was found. */
  key?: VerifiableKey;
  creditsRemaining?: number;
  rateLimits: readonly LimitOutcome[];
}

/** Shared by every answer that counted no limit, so the common verification allocates no list for them. */
const NO_LIMITS: readonly LimitOutcome[] = Object.freeze([]);
const NOT_FOUND: VerifyResult = Object.freeze({ verdict: "not_found", rateLimits: NO_LIMITS });

/**
 * Runs the checks in their documented order. Everything up to the rate limits is decided from
 * the cached key without touching storage; rate limits and credits are counted in the store, but
 * through allowances and shares this instance reserves ahead of demand, so most verifications
 * answer from memory too.
 */
export class Verifier {
  constructor(
    private readonly cache: KeyCache,
    private readonly known: KnownDigests,
    private readonly limits: Pick<KeyRateLimits, "apply">,
    private readonly credits: CreditShares,
    private readonly store: CreditStore,
    private readonly usage: UsageRecorder,
    private readonly now: () => number,
    /** Told every outcome: metrics and analytics count them. */
    private readonly onOutcome: (request: VerifyRequest, result: VerifyResult) => void = () => {},
  ) {}

  /** Answers without a promise when the key is cached and its counters have room here: the common case, and the fastest. */
  verify(request: VerifyRequest): VerifyResult | Promise<VerifyResult> {
    const result = this.judge(request);
    return result instanceof Promise ? result.then((settled) => this.counted(request, settled)) : this.counted(request, result);
  }

  private counted(request: VerifyRequest, result: VerifyResult) {
    this.onOutcome(request, result);
    return result;
  }

  private judge(request: VerifyRequest): VerifyResult | Promise<VerifyResult> {
    if (request.secret.length > MAX_PRESENTED_SECRET_LENGTH) return NOT_FOUND;
    const digest = digestSecret(request.secret);
    const known = this.cache.peek(request.workspaceId, digest);
    if (known !== undefined) return this.decide(known, digest, request);
    // A secret of latchkey's format is worth a read once its checksum holds; one of another format
    // (an imported key's) only when the known-digest filter holds its digest, without waiting for
    // the change feed, so made-up strings cost no storage reads.
    if (!isWellFormedSecret(request.secret) && !this.known.mightHold(digest)) return NOT_FOUND;
    const key = this.cache.lookup(request.workspaceId, digest);
    return key instanceof Promise ? key.then((loaded) => this.decide(loaded, digest, request)) : this.decide(key, digest, request);
  }

  private decide(key: VerifiableKey | null, digest: string, request: VerifyRequest): VerifyResult | Promise<VerifyResult> {
    if (!key) return NOT_FOUND;
    const now = this.now();

    const denied = checkAccess(key, digest, request, now);
    if (denied) return denied === "not_found" ? NOT_FOUND : this.answer(denied, key);

    const checks = request.rateLimitNames.length > 0 ? limitChecksOf(key, request.rateLimitNames) : automaticLimitChecksOf(key);
    if (!checks) return this.spend(key, request.cost, now, NO_LIMITS);
    const limits = this.limits.apply(checks);
    return limits instanceof Promise ? limits.then((counted) => this.admit(key, request.cost, now, counted)) : this.admit(key, request.cost, now, limits);
  }

  private admit(key: VerifiableKey, cost: number, now: number, limits: LimitResult): VerifyResult | Promise<VerifyResult> {
    if (!limits.admitted) return this.answer("rate_limited", key, limits.outcomes);
    return this.spend(key, cost, now, limits.outcomes);
  }

  private spend(key: VerifiableKey, cost: number, now: number, limits: readonly LimitOutcome[]): VerifyResult | Promise<VerifyResult> {
    const record = key.record;
    if (!record.credits) {
      this.usage.record(record, now);
      return this.answer("valid", key, limits);
    }
    const refill = record.credits.refill;
    const spent =
      refill && isRefillDue(refill, record.createdAt, now)
        ? this.refill(record, now).then(() => this.credits.spend(record, cost))
        : this.credits.spend(record, cost);
    return spent instanceof Promise ? spent.then((result) => this.spent(key, now, limits, result)) : this.spent(key, now, limits, spent);
  }

  /** A method rather than a closure made in `spend`: most spends answer at once, and need none. */
  private spent(key: VerifiableKey, now: number, limits: readonly LimitOutcome[], result: CreditSpend | null): VerifyResult {
    if (!result) return NOT_FOUND;
    if (result.unshared !== undefined) this.cache.noteCredits(key.record.id, { remaining: result.unshared });
    if (!result.spent) return this.answer("usage_exceeded", key, limits, result.remaining);
    this.usage.record(key.record, now);
    return this.answer("valid", key, limits, result.remaining);
  }

  /**
   * A period has begun since the last refill this instance saw: the balance is set anew (by this
   * instance or another), which voids every share taken before. Verifications here that raced
   * this one may have refilled first and taken a new share meanwhile, so the share is given back,
   * not dropped: only a voided one gives nothing.
   */
  private async refill(record: KeyRecord, now: number) {
    const refill = record.credits!.refill!;
    const periodStart = refillPeriodStart(refill, record.createdAt, now);
    const refilled = await this.store.refillCredits(record.id, periodStart, refill.amount);
    await this.credits.giveBack(record.id);
    this.cache.noteCredits(record.id, { lastRefillAt: periodStart, ...(refilled && { remaining: refill.amount }) });
  }

  private answer(
    verdict: Verdict,
    key: VerifiableKey,
    rateLimits: readonly LimitOutcome[] = NO_LIMITS,
    creditsRemaining = cachedBalance(key.record),
  ): VerifyResult {
    return { verdict, key, rateLimits, creditsRemaining };
  }
}

const cachedBalance = (record: KeyRecord) => (record.credits ? creditBalance(record.credits) : undefined);

/**
 * The checks of verifications that name no limit, the common case, by cached key: the same for
 * every call of the key, so they are made once, and their counters' names, as the same strings
 * each time, are hashed once for the allowances' lookups rather than on every call.
 */
const automaticChecks = new WeakMap<VerifiableKey, KeyLimitCheck[] | null>();

function automaticLimitChecksOf(key: VerifiableKey): KeyLimitCheck[] | undefined {
  if (key.record.rateLimits.length === 0 && !key.identity?.rateLimits.length) return undefined;
  let checks = automaticChecks.get(key);
  if (checks === undefined) automaticChecks.set(key, (checks = limitChecksOf(key, []) ?? null));
  return checks ?? undefined;
}

function limitChecksOf({ record, identity }: VerifiableKey, named: readonly string[]): KeyLimitCheck[] | undefined {
  const checks = limitChecks(undefined, record.workspaceId, "key", record.id, record.rateLimits, named);
  return identity ? limitChecks(checks, record.workspaceId, "identity", identity.id, identity.rateLimits, named) : checks;
}

/**
 * The limits a verification counts, added to `checks` (made only once there is one): those that
 * apply automatically and those the request names. An identity's limits are counted under the
 * identity, so every key of it draws on the same counter.
 */
function limitChecks(
  checks: KeyLimitCheck[] | undefined,
  workspaceId: string,
  owner: "key" | "identity",
  id: string,
  limits: readonly RateLimit[],
  named: readonly string[],
): KeyLimitCheck[] | undefined {
  for (const limit of limits) {
    if (!limit.autoApply && !named.includes(limit.name)) continue;
    (checks ??= []).push({
      workspaceId,
      counter: limitCounter(owner, id, limit.name),
      name: limit.name,
      limit: limit.limit,
      durationMs: windowLength(limit.durationMs),
      algorithm: limit.algorithm ?? "fixed_window",
    });
  }
  return checks;
}
