import { failedPrecondition, invalidArgument } from "./errors.js";
import type { CreditRefill, Credits, KeyRecord } from "./key.js";
import { checkRefill } from "./key-field-checks.js";

/**
 * The start of the refill period that `now` falls in. A key whose last refill is older than this
 * is due one: its balance is set to the refill amount (not added to) and the last refill time
 * becomes this boundary, so each period refills once however many verifications race for it.
 *
 * - interval: every `intervalMs` counted from the key's creation;
 * - daily: 00:00 UTC;
 * - monthly: 00:00 UTC on `dayOfMonth`, or on the month's last day when it is shorter.
 */
export function refillPeriodStart(refill: Pick<CreditRefill, "period" | "intervalMs" | "dayOfMonth">, createdAt: Date, now: number): Date {
  const date = new Date(now);
  switch (refill.period) {
    case "interval": {
      const start = createdAt.getTime();
      return new Date(start + Math.floor(Math.max(0, now - start) / refill.intervalMs) * refill.intervalMs);
    }
    case "daily":
      return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
    case "monthly": {
      const thisMonth = monthlyRefillDay(date.getUTCFullYear(), date.getUTCMonth(), refill.dayOfMonth);
      return thisMonth.getTime() <= now ? thisMonth : monthlyRefillDay(date.getUTCFullYear(), date.getUTCMonth() - 1, refill.dayOfMonth);
    }
  }
}

export const isRefillDue = (refill: CreditRefill, createdAt: Date, now: number) =>
  refill.lastRefillAt === null || refill.lastRefillAt.getTime() < refillPeriodStart(refill, createdAt, now).getTime();

function monthlyRefillDay(year: number, month: number, day: number): Date {
  const daysInMonth = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return new Date(Date.UTC(year, month, Math.min(day, daysInMonth)));
}

/**
 * What UpdateCredits asks: a new balance (null removes the key's credits), or an amount to add or
 * to take (stopping at 0); and a refill to set, to remove (null), or to leave as it is (undefined).
 */
export interface CreditsUpdate {
  operation: "set" | "increment" | "decrement";
  value: number | null;
  refill: CreditRefill | null | undefined;
}

export function validateCreditsUpdate(update: CreditsUpdate) {
  if (update.operation !== "set" && (update.value === null || update.value < 1)) throw invalidArgument("value", "must be at least 1");
  if (update.operation === "set" && update.value === null && update.refill) {
    throw invalidArgument("refill", "needs credits. Set a value too, or leave the refill out to remove the credits");
  }
  if (update.refill) checkRefill("refill", update.refill);
}

/**
 * The credits a key has after the update, from those it had: what every store applies, in one
 * atomic step. Shares (below) are part of the balance: SET replaces them with the new balance.
 * INCREMENT leaves them be; DECREMENT takes from the unshared balance first, then from the
 * shares' unclaimed units (decrementPlan), and leaves every share in place, so its holder still
 * gives back what it claimed and did not spend.
 */
export function applyCreditsUpdate(current: KeyRecord["credits"], update: CreditsUpdate): KeyRecord["credits"] {
  if (update.operation === "set" && update.value === null) return null;
  if (!current && update.operation !== "set") throw noCredits();
  if (!current && update.refill === undefined) return { remaining: update.value!, refill: null };
  const refill = update.refill === undefined ? current!.refill : update.refill;
  const value = update.value!;
  if (update.operation === "set") return { remaining: value, refill };
  const shares = current!.shares ? { shares: structuredClone(current!.shares) } : {};
  if (update.operation === "increment") {
    if (creditBalance(current!) + value > Number.MAX_SAFE_INTEGER) throw invalidArgument("value", "would take the balance past 9007199254740991");
    return { remaining: current!.remaining + value, refill, ...shares };
  }
  const plan = decrementPlan(current!, value);
  for (const [name, units] of Object.entries(plan.shares)) shares.shares![name]!.unclaimed -= units;
  return { remaining: current!.remaining - plan.remaining, refill, ...shares };
}

/**
 * Where a DECREMENT of `value` takes its units: the unshared balance first, then the unclaimed
 * units of the shares, in turn; stopping at 0 when the balance is smaller.
 */
export function decrementPlan(credits: Pick<Credits, "remaining" | "shares">, value: number): { remaining: number; shares: Record<string, number> } {
  const fromRemaining = Math.min(value, credits.remaining);
  let rest = value - fromRemaining;
  const shares: Record<string, number> = {};
  for (const [name, share] of Object.entries(credits.shares ?? {})) {
    const taken = Math.min(rest, share.unclaimed);
    if (taken < 1) continue;
    shares[name] = taken;
    rest -= taken;
  }
  return { remaining: fromRemaining, shares };
}

export const noCredits = () => failedPrecondition("the key has no credits to change. Set them first", "NO_CREDITS");

/**
 * Credit shares: how verifications spend credits without a storage write each, and never oversell.
 *
 * While a key's unshared balance is large, an instance takes a share of it (one atomic update moves
 * units from `remaining` into `shares[holder].unclaimed`). It then claims units from its share a
 * little at a time (one atomic update each, made ahead of demand and off the request path) and
 * spends claimed units in memory. Claimed units have left the stored balance, so whatever happens
 * to the holder they are never sold twice; unclaimed units are still the key's. The holder returns
 * what it has not spent when the key goes idle or changes, when another instance running short asks
 * for it (docs/credits.md), or when the instance stops. An instance that
 * dies loses at most the units it had claimed and not yet spent: less than one and a half claims
 * (the rest of one and the next, claimed ahead), where a claim is about a second of its demand for
 * the key, at least 1/64 of its share and at most 1/8. Its unclaimed units return to the balance
 * once its share expires, taken back by the next instance that runs short.
 *
 * Near zero (an unshared balance under SHARE_FROM_COSTS costs), instances spend exactly per call.
 */
export const CREDIT_SHARES = {
  /** Shares are taken only from an unshared balance of at least this many costs. */
  shareFromCosts: 256,
  /** A share is this fraction of the unshared balance, so many instances can hold one at once. */
  shareFraction: 1 / 16,
  /** A claim covers about this long of the holder's recent demand… */
  claimHorizonMs: 1000,
  /** …and at least this many costs and this fraction of the share (so a key in light use is not a write every few calls)… */
  minClaimCosts: 4,
  minClaimFraction: 1 / 64,
  /** …and at most this fraction of the share. */
  maxClaimFraction: 1 / 8,
} as const;

/** The key's balance as GetKey shows it: unshared units and the unclaimed parts of every share. */
export function creditBalance(credits: Pick<Credits, "remaining" | "shares">): number {
  let balance = credits.remaining;
  for (const share of Object.values(credits.shares ?? {})) balance += share.unclaimed;
  return balance;
}

/** The balance and its unshared part, as spending reports them. */
export const balances = (credits: Pick<Credits, "remaining" | "shares">) => ({ remaining: creditBalance(credits), unshared: credits.remaining });

/** Units to take as a share from `unshared`, for verifications costing `cost`; 0 means spend per call. */
export function shareSize(unshared: number, cost: number): number {
  const unit = Math.max(1, cost);
  if (unshared < CREDIT_SHARES.shareFromCosts * unit) return 0;
  return Math.floor(unshared * CREDIT_SHARES.shareFraction);
}

/**
 * Units to claim next from a share holding `unclaimed` (of `shareUnits` taken), given the holder's
 * recent spending rate. Small claims bound what a crash can lose; claims covering the demand keep
 * the writes few.
 */
export function claimSize(unclaimed: number, shareUnits: number, cost: number, unitsPerSecond: number): number {
  const unit = Math.max(1, cost);
  const demand = Math.ceil((unitsPerSecond * CREDIT_SHARES.claimHorizonMs) / 1000);
  const ceiling = Math.max(unit, Math.floor(shareUnits * CREDIT_SHARES.maxClaimFraction));
  const floor = Math.max(unit * CREDIT_SHARES.minClaimCosts, Math.floor(shareUnits * CREDIT_SHARES.minClaimFraction));
  return Math.min(unclaimed, ceiling, Math.max(floor, demand));
}
