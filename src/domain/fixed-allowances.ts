import { type LimitCheck, type LimitOutcome, type RateLimitWindow, type Reservation, windowFrom, windowStart } from "./fixed-window.js";
import { WorkspaceHoldings } from "./workspace-holdings.js";

/**
 * What an instance holds of fixed-window counters (domain/fixed-window.ts) between store steps.
 *
 * Instances do not write each request to the store. Each reserves part of a window's room (an
 * allowance) with one atomic update and admits from it in memory; it reserves the next part
 * before this one runs out, and a counter asked of in a window reserves in its next one when the
 * last quarter of this one begins, whether or not a request comes then: those reservations are
 * wanted only by a due time, so an instance gathers many counters' into one store call. An allowance is a sixteenth of the room the instance last saw, at
 * least 1, so as the window fills the allowances shrink and the last requests of a full window
 * are counted one by one: under load that reaches the limit, the whole limit is admitted (what
 * an instance reserved and did not use before the window ended is the only shortfall).
 */
export type LimitDecision =
  /** `prefetch`: more room in windows running low, wanted soon; `ahead`: room in next windows, wanted by each one's `due`. */
  | { admitted: boolean; outcomes: LimitOutcome[]; prefetch: readonly Reservation[]; ahead: readonly AheadReservation[] }
  /** Some window has no allowance here: reserve these, then decide again. */
  | { reserve: Reservation[] };

/**
 * Room reserved in a counter's next window before it starts. It is wanted only by `due` (epoch
 * ms), so an instance can gather many counters' into one store call.
 */
export interface AheadReservation extends Reservation {
  due: number;
}

/**
 * How long an instance may hold an ahead reservation back to gather others with it; never more
 * than half the time left before its window starts.
 */
export const MAX_AHEAD_DELAY_MS = 5000;

/** An allowance is this share of the room the instance last saw in the window. */
const ALLOWANCE_FRACTION = 1 / 16;

/**
 * Counters held per workspace by default. Workspaces are made only with the operator's ADMIN_TOKEN,
 * so this bounds memory by the operator's own decisions.
 */
export const MAX_COUNTERS_PER_WORKSPACE = 10_000;

/** This instance's part of one window. */
interface Allowance {
  window: RateLimitWindow;
  start: number;
  /** When the window ends, epoch ms. */
  end: number;
  /** Reserved in the store and not admitted yet. */
  units: number;
  /** The store's count as last reported, what this instance reserved included. */
  used: number;
  /** The store had no room left in this window. */
  full: boolean;
  /** The size of the last reservation: the next is made when the allowance falls under half of it. */
  lastReserved: number;
  prefetching: boolean;
}

interface Counter {
  check: LimitCheck;
  current: Allowance;
  /** The next window's, reserved ahead in the current one's last quarter, so a busy counter never waits at a boundary. */
  next: Allowance | undefined;
  /** Due to reserve ahead when its window's last quarter begins, whether or not a request comes in it. */
  armed: boolean;
}

/** What most decisions reserve: nothing, shared rather than a new empty list each time. */
const NONE: readonly never[] = Object.freeze([]);

/** A counter used in the last quarter of its window reserves in the next one. */
const NEXT_WINDOW_LEAD = 1 / 4;

/**
 * The allowances this instance holds, per workspace, least recently used first. A workspace holds
 * at most `maxCountersPerWorkspace`; the least recently used gives its place up (and with it an
 * allowance, which only this instance loses: the store's counts stand, so no tenant can reopen a
 * limit by making counters). Every step is O(checks); `dueAhead` is O(counters it returns).
 */
export class RateLimitAllowances {
  private readonly byWindow = new Map<string, Allowance>();
  private readonly held: WorkspaceHoldings<Counter>;
  /** Counters asked of in their current window, by the second their last quarter begins. */
  private readonly armed = new Map<number, Counter[]>();
  /** The seconds of `armed`, in order. */
  private readonly armedSeconds: number[] = [];

  constructor(maxCountersPerWorkspace = MAX_COUNTERS_PER_WORKSPACE) {
    this.held = new WorkspaceHoldings(maxCountersPerWorkspace, (_, counter) => this.forget(counter));
  }

  /**
   * Admits the request only if every check has room; then, and only then, counts it in all of them.
   * A window full in the store refuses at once; a window with no allowance here asks for one.
   */
  decide(checks: readonly LimitCheck[], now: number): LimitDecision {
    const counters = checks.map((check) => this.counter(check, now));
    let full = false;
    let short: Allowance[] | undefined;
    for (const { current } of counters) {
      if (current.units >= 1) continue;
      if (current.full) full = true;
      (short ??= []).push(current);
    }
    if (!full) {
      if (short) return { reserve: short.map((allowance) => this.reservation(allowance)) };
      for (const { current } of counters) current.units--;
    }
    const outcomes = counters.map(({ check, current }) => outcomeOf(check, current, full && current.full && current.units < 1));
    let prefetch: Reservation[] | undefined;
    let ahead: AheadReservation[] | undefined;
    for (const counter of counters) {
      if (!full && this.wantsMore(counter.current)) (prefetch ??= []).push(this.prefetch(counter.current));
      const reservation = this.reserveAhead(counter, now);
      if (reservation) (ahead ??= []).push(reservation);
      else this.arm(counter);
    }
    return { admitted: !full, outcomes, prefetch: prefetch ?? NONE, ahead: ahead ?? NONE };
  }

  /**
   * The next windows of counters asked of in their current window whose last quarter has begun
   * by `now`, though no request came in it: a counter used once a window keeps its room reserved
   * ahead, and the instance gathers these into few store calls.
   */
  dueAhead(now: number): AheadReservation[] {
    const ahead: AheadReservation[] = [];
    while (this.armedSeconds.length > 0 && this.armedSeconds[0]! * 1000 <= now) {
      const second = this.armedSeconds.shift()!;
      const counters = this.armed.get(second)!;
      this.armed.delete(second);
      for (const counter of counters) {
        counter.armed = false;
        if (this.byWindow.get(counter.current.window.id) !== counter.current) continue;
        const reservation = this.reserveAhead(counter, now);
        if (reservation) ahead.push(reservation);
      }
    }
    return ahead;
  }

  /**
   * The outcomes of a request refused because the room its windows were granted kept going to
   * other requests first: those without an allowance here show as exceeded. Nothing is counted.
   */
  refusal(checks: readonly LimitCheck[], now: number): LimitOutcome[] {
    return this.outcomes(checks, now, (allowance) => allowance.units < 1);
  }

  /** The outcomes of a request another limit refused: none of these is exceeded, and nothing is counted. */
  unspent(checks: readonly LimitCheck[], now: number): LimitOutcome[] {
    return this.outcomes(checks, now, () => false);
  }

  /** What the store granted for a reservation made from `decide`; ignored when the window has since passed here. */
  granted(reservation: Reservation, granted: number, used: number) {
    const allowance = this.byWindow.get(reservation.window.id);
    if (!allowance) return;
    allowance.prefetching = false;
    allowance.units += granted;
    allowance.used = Math.max(allowance.used, used);
    allowance.lastReserved = Math.max(granted, 1);
    if (granted < reservation.units) allowance.full = true;
  }

  /** A reservation that failed (the store did not answer): the next request may ask again. */
  failed(reservation: Reservation) {
    const allowance = this.byWindow.get(reservation.window.id);
    if (allowance) allowance.prefetching = false;
  }

  /** Counters held, in all workspaces. */
  get size() {
    return this.held.size;
  }

  private outcomes(checks: readonly LimitCheck[], now: number, exceeded: (allowance: Allowance) => boolean): LimitOutcome[] {
    return checks.map((check) => {
      const allowance = this.counter(check, now).current;
      return outcomeOf(check, allowance, exceeded(allowance));
    });
  }

  /**
   * The check's counter, moved on to the window `now` falls in. A counter still in the window it
   * holds, with the same limit and length, stays there without working out the window's start.
   */
  private counter(check: LimitCheck, now: number): Counter {
    let counter = this.held.take(check.workspaceId, check.counter);
    if (counter) {
      counter.check = check;
      const { current } = counter;
      if (now >= current.start && now < current.end && current.end - current.start === check.durationMs && current.window.limit === check.limit) {
        this.held.put(check.workspaceId, check.counter, counter);
        return counter;
      }
    }
    const start = windowStart(check, now);
    if (!counter || counter.current.start !== start || counter.current.window.limit !== check.limit) {
      if (counter) this.forget(counter);
      const next = counter?.next;
      counter = {
        check,
        current: next && next.start === start && next.window.limit === check.limit ? this.keep(next) : this.allowance(check, start),
        next: undefined,
        armed: false,
      };
    }
    this.held.put(check.workspaceId, check.counter, counter);
    return counter;
  }

  private allowance(check: LimitCheck, start: number): Allowance {
    const allowance: Allowance = {
      window: windowFrom(check, start),
      start,
      end: start + check.durationMs,
      units: 0,
      used: 0,
      full: false,
      lastReserved: 0,
      prefetching: false,
    };
    return this.keep(allowance);
  }

  private keep(allowance: Allowance) {
    this.byWindow.set(allowance.window.id, allowance);
    return allowance;
  }

  private forget(counter: Counter) {
    this.byWindow.delete(counter.current.window.id);
    if (counter.next) this.byWindow.delete(counter.next.window.id);
  }

  private reservation(allowance: Allowance): Reservation {
    return { window: allowance.window, units: Math.max(1, Math.floor((allowance.window.limit - allowance.used) * ALLOWANCE_FRACTION)) };
  }

  private wantsMore(allowance: Allowance) {
    return !allowance.full && !allowance.prefetching && allowance.units < allowance.lastReserved / 2;
  }

  private prefetch(allowance: Allowance): Reservation {
    allowance.prefetching = true;
    return this.reservation(allowance);
  }

  /** The counter's next window, reserved ahead once its current one's last quarter has begun. */
  private reserveAhead(counter: Counter, now: number): AheadReservation | undefined {
    const { durationMs } = counter.check;
    const nextStart = counter.current.start + durationMs;
    if (counter.next || now < lastQuarter(counter) || now >= nextStart) return undefined;
    counter.next = this.allowance(counter.check, nextStart);
    return { ...this.prefetch(counter.next), due: now + Math.min(MAX_AHEAD_DELAY_MS, (nextStart - now) / 2) };
  }

  private arm(counter: Counter) {
    if (counter.armed || counter.next) return;
    counter.armed = true;
    const second = Math.ceil(lastQuarter(counter) / 1000);
    const counters = this.armed.get(second);
    if (counters) {
      counters.push(counter);
      return;
    }
    this.armed.set(second, [counter]);
    let at = this.armedSeconds.length;
    while (at > 0 && this.armedSeconds[at - 1]! > second) at--;
    this.armedSeconds.splice(at, 0, second);
  }
}

/** When a counter's current window enters its last quarter. */
const lastQuarter = (counter: Counter) => counter.current.start + counter.check.durationMs * (1 - NEXT_WINDOW_LEAD);

const outcomeOf = ({ name, limit }: LimitCheck, allowance: Allowance, exceeded: boolean): LimitOutcome => ({
  name,
  limit,
  remaining: remaining(allowance),
  resetAt: allowance.end,
  exceeded,
});

/** Room left in the window as this instance knows it: others' use since its last reservation is not seen. */
const remaining = (allowance: Allowance) => Math.max(0, allowance.window.limit - allowance.used) + allowance.units;
