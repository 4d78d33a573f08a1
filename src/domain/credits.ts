import type { CreditRefill } from "./key.js";

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
