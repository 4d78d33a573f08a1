import type { AppliedLimit, NamespaceOverrides } from "../domain/ratelimit.js";
import { counterRecord, type SlidingCheck, type SlidingOutcome } from "../domain/sliding-window.js";
import type { RatelimitOverrides } from "./ratelimit-overrides.js";
import type { SlidingRateLimits, SlidingResult } from "./sliding-rate-limits.js";

/** One limit as a request names it. */
export interface LimitAsk {
  namespace: string;
  identifier: string;
  limit: number;
  durationMs: number;
  cost: number;
}

export interface LimitAnswer extends AppliedLimit {
  /** Whether this limit had room; the request went ahead only if every limit had. */
  hadRoom: boolean;
  remaining: number;
  resetAt: number;
}

export interface LimitDecision {
  success: boolean;
  answers: LimitAnswer[];
}

/**
 * Limit and MultiLimit: each limit's override applied, then every limit counted at once by the
 * shared sliding windows. Limits of one request that land on the same counter (the same
 * namespace, identifier and window, as overrides decide them) count as one, with their costs
 * added up. Stays synchronous while this instance holds the overrides and the units.
 */
export class Ratelimiter {
  constructor(
    private readonly overrides: Pick<RatelimitOverrides, "of">,
    private readonly limits: Pick<SlidingRateLimits, "apply">,
    /** Told of each limit of every decision, with whether the decision passed: analytics count it. */
    private readonly onDecision?: (workspaceId: string, ask: LimitAsk, success: boolean) => void,
  ) {}

  limit(workspaceId: string, asks: readonly LimitAsk[]): LimitDecision | Promise<LimitDecision> {
    if (asks.length === 1) {
      const ask = asks[0]!;
      const overrides = this.overrides.of(workspaceId, ask.namespace);
      return overrides instanceof Promise ? overrides.then((found) => this.decideOne(workspaceId, ask, found)) : this.decideOne(workspaceId, ask, overrides);
    }
    const found = asks.map((ask) => this.overrides.of(workspaceId, ask.namespace));
    if (found.some((overrides) => overrides instanceof Promise)) {
      return Promise.all(found).then((overrides) => this.decide(workspaceId, asks, overrides));
    }
    return this.decide(workspaceId, asks, found as NamespaceOverrides[]);
  }

  private decide(workspaceId: string, asks: readonly LimitAsk[], overrides: readonly NamespaceOverrides[]): LimitDecision | Promise<LimitDecision> {
    const applied = asks.map((ask, i) => overrides[i]!.apply(ask.identifier, ask));
    const checks = new Map<string, SlidingCheck>();
    const checkOf = asks.map((ask, i) => {
      const check = slidingCheck(workspaceId, ask, applied[i]!);
      const record = counterRecord(check);
      const same = checks.get(record);
      if (same) {
        same.cost += check.cost;
        same.limit = Math.min(same.limit, check.limit);
      } else checks.set(record, check);
      return record;
    });
    const order = [...checks.keys()];
    const answer = (result: SlidingResult): LimitDecision => {
      if (this.onDecision) for (const ask of asks) this.onDecision(workspaceId, ask, result.admitted);
      return {
        success: result.admitted,
        answers: asks.map((_, i) => answerOf(applied[i]!, result.outcomes[order.indexOf(checkOf[i]!)]!)),
      };
    };
    const result = this.limits.apply([...checks.values()]);
    return result instanceof Promise ? result.then(answer) : answer(result);
  }

  /** Limit's single ask: what `decide` answers for one ask, without the merging of several. */
  private decideOne(workspaceId: string, ask: LimitAsk, overrides: NamespaceOverrides): LimitDecision | Promise<LimitDecision> {
    const applied = overrides.apply(ask.identifier, ask);
    const result = this.limits.apply([slidingCheck(workspaceId, ask, applied)]);
    return result instanceof Promise
      ? result.then((settled) => this.answerOne(workspaceId, ask, applied, settled))
      : this.answerOne(workspaceId, ask, applied, result);
  }

  private answerOne(workspaceId: string, ask: LimitAsk, applied: AppliedLimit, result: SlidingResult): LimitDecision {
    this.onDecision?.(workspaceId, ask, result.admitted);
    return { success: result.admitted, answers: [answerOf(applied, result.outcomes[0]!)] };
  }
}

/** The sliding-window counter an ask counts in, with its override applied. */
const slidingCheck = (workspaceId: string, ask: LimitAsk, applied: AppliedLimit): SlidingCheck => ({
  workspaceId,
  counter: `${ask.namespace}:${ask.identifier}`,
  limit: applied.limit,
  durationMs: applied.durationMs,
  cost: ask.cost,
});

/** One limit's answer: its override as applied, and how its counter decided. */
const answerOf = (applied: AppliedLimit, outcome: SlidingOutcome): LimitAnswer => ({
  limit: outcome.limit,
  durationMs: applied.durationMs,
  overrideId: applied.overrideId,
  hadRoom: outcome.hadRoom,
  remaining: outcome.remaining,
  resetAt: outcome.resetAt,
});
