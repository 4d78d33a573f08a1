import { failedPrecondition, invalidArgument } from "./errors.js";
import { checkRefill, type CreditRefill, type KeyRecord } from "./key.js";

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
      return thisMonth.getTime() <= now
        ? thisMonth
        : monthlyRefillDay(date.getUTCFullYear(), date.getUTCMonth() - 1, refill.dayOfMonth);
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

/** The credits a key has after the update, from those it had: what every store applies, in one atomic step. */
export function applyCreditsUpdate(current: KeyRecord["credits"], update: CreditsUpdate): KeyRecord["credits"] {
  if (update.operation === "set" && update.value === null) return null;
  if (!current && update.operation !== "set") throw noCredits();
  if (!current && update.refill === undefined) return { remaining: update.value!, refill: null };
  const refill = update.refill === undefined ? current!.refill : update.refill;
  const remaining =
    update.operation === "set" ? update.value! : update.operation === "increment" ? current!.remaining + update.value! : Math.max(0, current!.remaining - update.value!);
  if (remaining > Number.MAX_SAFE_INTEGER) throw invalidArgument("value", "would take the balance past 9007199254740991");
  return { remaining, refill };
}

export const noCredits = () => failedPrecondition("the key has no credits to change. Set them first", "NO_CREDITS");
