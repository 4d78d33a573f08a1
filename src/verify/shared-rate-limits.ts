import { type AheadReservation, RateLimitAllowances } from "../domain/fixed-allowances.js";
import type { LimitCheck, LimitOutcome, Reservation } from "../domain/fixed-window.js";
import type { Logger } from "../observability/log.js";
import type { RateLimitWindowStore } from "../store/store.js";
import { AheadReservations } from "./ahead-reservations.js";

export interface LimitResult {
  admitted: boolean;
  outcomes: LimitOutcome[];
}

/**
 * A request that found its allowance spent by others this many times in a row is refused as rate
 * limited rather than wait on: so one request costs at most this many store writes per limit.
 */
export const MAX_RESERVATION_ROUNDS = 4;
/** Windows are kept in the store this long after they end, then pruned. */
const WINDOW_RETENTION_MS = 60_000;
/** How often counters asked of in their window are checked for room to reserve ahead in the next. */
const AHEAD_CHECK_MS = 1000;

/**
 * Rate limits shared by every instance on the store (domain/fixed-allowances.ts): admits from this
 * instance's allowances in memory, and reserves more from the store, once per window for all the
 * requests waiting on it, before they run out. Room in next windows is reserved ahead, many
 * counters' in one store call (verify/ahead-reservations.ts).
 */
export class SharedRateLimits {
  private readonly allowances: RateLimitAllowances;
  private readonly reserving = new Map<string, Promise<void>>();
  /** Requests waiting for room in each window. */
  private readonly waiting = new Map<string, number>();
  private readonly ahead: AheadReservations;
  private pruneTimer: NodeJS.Timeout | undefined;
  private aheadTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: RateLimitWindowStore,
    private readonly options: { now: () => number; log: Logger; maxCountersPerWorkspace?: number },
  ) {
    this.allowances = new RateLimitAllowances(options.maxCountersPerWorkspace);
    this.ahead = new AheadReservations((reservations) => store.reserveRateLimits(reservations), options.now);
  }

  /** Answers without a promise while this instance's allowances cover the request. */
  apply(checks: readonly LimitCheck[]): LimitResult | Promise<LimitResult> {
    const decision = this.allowances.decide(checks, this.options.now());
    if ("reserve" in decision) return this.reserveAndApply(checks, decision.reserve);
    this.prefetch(decision);
    return decision;
  }

  /** The outcomes of a request a limit counted elsewhere refused: nothing is counted here. */
  unspent(checks: readonly LimitCheck[]): LimitOutcome[] {
    return this.allowances.unspent(checks, this.options.now());
  }

  /** Counters this instance holds allowances for. */
  get counters() {
    return this.allowances.size;
  }

  /** Prunes ended windows once a minute, and reserves ahead for counters that are due. */
  start() {
    this.pruneTimer = setInterval(() => void this.prune(), WINDOW_RETENTION_MS).unref();
    this.aheadTimer = setInterval(() => this.reserveDueAhead(), AHEAD_CHECK_MS).unref();
  }

  /** Reserves in the next windows of counters asked of in this one, once its last quarter begins (every AHEAD_CHECK_MS from `start`). */
  reserveDueAhead() {
    for (const reservation of this.allowances.dueAhead(this.options.now())) this.reserveAhead(reservation);
    this.ahead.sendDue();
  }

  stop() {
    clearInterval(this.pruneTimer);
    clearInterval(this.aheadTimer);
    this.ahead.stop();
  }

  private async reserveAndApply(checks: readonly LimitCheck[], reservations: Reservation[]): Promise<LimitResult> {
    for (let round = 0; round < MAX_RESERVATION_ROUNDS; round++) {
      for (const { window } of reservations) this.waiting.set(window.id, (this.waiting.get(window.id) ?? 0) + 1);
      try {
        await Promise.all(reservations.map((reservation) => this.reserve(reservation)));
      } finally {
        for (const { window } of reservations) {
          const waiting = this.waiting.get(window.id)! - 1;
          if (waiting > 0) this.waiting.set(window.id, waiting);
          else this.waiting.delete(window.id);
        }
      }
      const decision = this.allowances.decide(checks, this.options.now());
      if (!("reserve" in decision)) {
        this.prefetch(decision);
        return decision;
      }
      reservations = decision.reserve;
    }
    return { admitted: false, outcomes: this.allowances.refusal(checks, this.options.now()) };
  }

  /**
   * One reservation per window at a time: requests waiting on the same window share it, and the
   * next one asks for at least as many units as there are requests waiting.
   */
  private reserve(reservation: Reservation): Promise<void> {
    const id = reservation.window.id;
    const reserving = this.reserving.get(id);
    if (reserving) {
      if (this.ahead.has(id)) this.ahead.sendNow();
      return reserving;
    }
    const asked = { ...reservation, units: Math.max(reservation.units, this.waiting.get(id) ?? 0) };
    return this.counted(asked, this.store.reserveRateLimit(asked.window, asked.units));
  }

  private prefetch({ prefetch, ahead }: { prefetch: readonly Reservation[]; ahead: readonly AheadReservation[] }) {
    for (const reservation of prefetch) this.reserve(reservation).catch(this.prefetchFailed);
    for (const reservation of ahead) this.reserveAhead(reservation);
  }

  private reserveAhead(reservation: AheadReservation) {
    if (this.reserving.has(reservation.window.id)) return;
    this.counted(reservation, this.ahead.add(reservation)).catch(this.prefetchFailed);
  }

  /** Hands what the store counted to the allowances; until then, requests on the window wait for it. */
  private counted(asked: Reservation, counting: Promise<{ granted: number; used: number }>): Promise<void> {
    const id = asked.window.id;
    const reserving = counting
      .then(
        ({ granted, used }) => this.allowances.granted(asked, granted, used),
        (error: unknown) => {
          this.allowances.failed(asked);
          throw error;
        },
      )
      .finally(() => this.reserving.delete(id));
    this.reserving.set(id, reserving);
    return reserving;
  }

  private readonly prefetchFailed = (error: unknown) => this.options.log.warn("reserving rate-limit room failed", { error: String(error) });

  private async prune() {
    try {
      await this.store.pruneRateLimits(new Date(this.options.now() - WINDOW_RETENTION_MS));
    } catch (error) {
      this.options.log.warn("pruning rate-limit windows failed", { error: String(error) });
    }
  }
}
