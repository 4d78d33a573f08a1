import { storeUnavailable } from "../domain/errors.js";
import { SlidingAllowances } from "../domain/sliding-allowances.js";
import type { CellReservation, SlidingCheck, SlidingOutcome } from "../domain/sliding-window.js";
import type { Logger } from "../observability/log.js";
import type { RatelimitStore } from "../store/ratelimits/index.js";

export interface SlidingResult {
  admitted: boolean;
  outcomes: SlidingOutcome[];
  /** When the request arrived: the time its units count at. */
  arrived: number;
}

/** A request that found its units taken by others this many times in a row gives up rather than wait on. */
const MAX_RESERVATION_ROUNDS = 8;
/** Counters are kept in the store this long after their last cell left its window, then pruned. */
const COUNTER_RETENTION_MS = 60_000;

/**
 * Sliding-window limits shared by every instance on the store (domain/sliding-allowances.ts): admits
 * from this instance's units in memory, and reserves more, once per cell for all the requests
 * waiting on it, before they run out.
 */
export class SlidingRateLimits {
  private readonly allowances: SlidingAllowances;
  private readonly reserving = new Map<string, Promise<void>>();
  /** Requests waiting for units in each cell. */
  private readonly waiting = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: RatelimitStore,
    private readonly options: { now: () => number; log: Logger; maxCountersPerWorkspace?: number },
  ) {
    this.allowances = new SlidingAllowances(options.maxCountersPerWorkspace);
  }

  /** Answers without a promise while this instance's units cover the request. */
  apply(checks: readonly SlidingCheck[]): SlidingResult | Promise<SlidingResult> {
    const arrived = this.options.now();
    const decision = this.allowances.decide(checks, arrived);
    if ("reserve" in decision) return this.reserveAndApply(checks, arrived, decision.reserve);
    for (const reservation of decision.prefetch) this.reserve(reservation).catch(this.prefetchFailed);
    return { admitted: decision.admitted, outcomes: decision.outcomes, arrived };
  }

  /** Takes back what an admitted request spent, when a limit counted elsewhere refused it. */
  refund(checks: readonly SlidingCheck[], result: SlidingResult) {
    if (result.admitted) this.allowances.refund(checks, result.arrived);
  }

  /** Counters this instance holds units of. */
  get counters() {
    return this.allowances.size;
  }

  /** Prunes expired counters once a minute. */
  start() {
    this.timer = setInterval(() => void this.prune(), COUNTER_RETENTION_MS);
    this.timer.unref();
  }

  stop() {
    clearInterval(this.timer);
  }

  private async reserveAndApply(checks: readonly SlidingCheck[], arrived: number, reservations: CellReservation[]): Promise<SlidingResult> {
    for (let round = 0; round < MAX_RESERVATION_ROUNDS; round++) {
      const keys = reservations.map(cellKey);
      for (const key of keys) this.waiting.set(key, (this.waiting.get(key) ?? 0) + 1);
      try {
        await Promise.all(reservations.map((reservation) => this.reserve(reservation)));
      } finally {
        for (const key of keys) {
          const waiting = this.waiting.get(key)! - 1;
          if (waiting > 0) this.waiting.set(key, waiting);
          else this.waiting.delete(key);
        }
      }
      const decision = this.allowances.decide(checks, arrived);
      if (!("reserve" in decision)) {
        for (const reservation of decision.prefetch) this.reserve(reservation).catch(this.prefetchFailed);
        return { admitted: decision.admitted, outcomes: decision.outcomes, arrived };
      }
      reservations = decision.reserve;
    }
    throw storeUnavailable("the rate-limit counters kept changing under this request. Try again");
  }

  /**
   * One step per cell at a time: requests waiting on the same cell share it, and the next one
   * asks for at least as many units as there are requests waiting. Units not granted are given
   * back at once, so they do not count against others.
   */
  private reserve(reservation: CellReservation): Promise<void> {
    const key = cellKey(reservation);
    let reserving = this.reserving.get(key);
    if (!reserving) {
      const asked = { ...reservation, units: Math.max(reservation.units, this.waiting.get(key) ?? 0) };
      const changes: [number, number][] = [[asked.cell, asked.units], ...asked.giveBack.map(([cell, units]): [number, number] => [cell, -units])];
      reserving = this.store
        .changeCells(asked.record, changes, asked.drop, asked.expiresAt)
        .then(
          (cells) => {
            const unused = this.allowances.granted(asked, cells);
            if (unused > 0) void this.giveBack(asked, unused);
          },
          (error: unknown) => {
            this.allowances.failed(asked);
            throw error;
          },
        )
        .finally(() => this.reserving.delete(key));
      this.reserving.set(key, reserving);
    }
    return reserving;
  }

  /** Should it fail, the units stay counted until they leave the window: fewer admitted, never more. */
  private async giveBack(reservation: CellReservation, units: number) {
    try {
      await this.store.changeCells(reservation.record, [[reservation.cell, -units]], [], reservation.expiresAt);
    } catch (error) {
      this.options.log.warn("giving back rate-limit units failed", { error: String(error) });
    }
  }

  private readonly prefetchFailed = (error: unknown) => this.options.log.warn("reserving rate-limit units failed", { error: String(error) });

  private async prune() {
    try {
      await this.store.pruneCounters(new Date(this.options.now() - COUNTER_RETENTION_MS));
    } catch (error) {
      this.options.log.warn("pruning rate-limit counters failed", { error: String(error) });
    }
  }
}

const cellKey = (reservation: CellReservation) => `${reservation.cell} ${reservation.record}`;
