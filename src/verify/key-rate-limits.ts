import type { LimitCheck, LimitOutcome } from "../domain/fixed-window.js";
import { type RateLimitAlgorithm, slidingLimitCounter } from "../domain/key-rate-limits.js";
import type { SlidingCheck } from "../domain/sliding-window.js";
import type { LimitResult, SharedRateLimits } from "./shared-rate-limits.js";
import type { SlidingRateLimits, SlidingResult } from "./sliding-rate-limits.js";

/** A key's or identity's limit, counted as its algorithm says. */
export interface KeyLimitCheck extends LimitCheck {
  algorithm: RateLimitAlgorithm;
}

/**
 * The limits of one verification, some in fixed windows (SharedRateLimits), some in sliding ones
 * (SlidingRateLimits, shared with RatelimitService): admitted only if every limit has room, and
 * then counted in all of them. The sliding ones are counted first; should a fixed one then
 * refuse, what the sliding ones spent goes back.
 */
export class KeyRateLimits {
  constructor(
    private readonly fixed: Pick<SharedRateLimits, "apply" | "unspent">,
    private readonly sliding: Pick<SlidingRateLimits, "apply" | "refund">,
  ) {}

  /** Outcomes in the order of `checks`. Answers without a promise while this instance holds the units. */
  apply(checks: readonly KeyLimitCheck[]): LimitResult | Promise<LimitResult> {
    const slidingChecks = checks.filter((check) => check.algorithm === "sliding_window");
    if (slidingChecks.length === 0) return this.fixed.apply(checks);
    const fixedChecks = checks.filter((check) => check.algorithm !== "sliding_window");
    const asked = slidingChecks.map(toSlidingCheck);
    const sliding = this.sliding.apply(asked);
    const then = (slid: SlidingResult): LimitResult | Promise<LimitResult> => {
      /** `refunded`: the unit each sliding limit spent went back, and is in its room again. */
      const inOrder = (fixedOutcomes: readonly LimitOutcome[], refunded = false) => {
        let nextFixed = 0;
        let nextSliding = 0;
        return checks.map((check): LimitOutcome => {
          if (check.algorithm !== "sliding_window") return fixedOutcomes[nextFixed++]!;
          const outcome = slid.outcomes[nextSliding++]!;
          const remaining = outcome.remaining + (refunded ? 1 : 0);
          return { name: check.name, limit: outcome.limit, remaining, resetAt: outcome.resetAt, exceeded: !outcome.hadRoom };
        });
      };
      if (!slid.admitted) return { admitted: false, outcomes: inOrder(this.fixed.unspent(fixedChecks)) };
      if (fixedChecks.length === 0) return { admitted: true, outcomes: inOrder([]) };
      const finish = (fixed: LimitResult): LimitResult => {
        if (!fixed.admitted) this.sliding.refund(asked, slid);
        return { admitted: fixed.admitted, outcomes: inOrder(fixed.outcomes, !fixed.admitted) };
      };
      let fixed: LimitResult | Promise<LimitResult>;
      try {
        fixed = this.fixed.apply(fixedChecks);
      } catch (error) {
        this.sliding.refund(asked, slid);
        throw error;
      }
      return fixed instanceof Promise
        ? fixed.then(finish, (error: unknown) => {
            this.sliding.refund(asked, slid);
            throw error;
          })
        : finish(fixed);
    };
    return sliding instanceof Promise ? sliding.then(then) : then(sliding);
  }
}

/** A verification spends one unit of each limit. */
const toSlidingCheck = (check: KeyLimitCheck): SlidingCheck => ({
  workspaceId: check.workspaceId,
  counter: slidingLimitCounter(check.counter),
  limit: check.limit,
  durationMs: check.durationMs,
  cost: 1,
});
