import { describe, expect, it } from "vitest";
import { isRefillDue, refillPeriodStart } from "../../src/domain/credits.js";
import type { CreditRefill } from "../../src/domain/key.js";

const utc = (...parts: [number, number, number, number?, number?]) => Date.UTC(...parts);
const refill = (changes: Partial<CreditRefill>): CreditRefill => ({
  period: "daily",
  intervalMs: 0,
  dayOfMonth: 0,
  amount: 10,
  lastRefillAt: null,
  ...changes,
});

describe("refill periods", () => {
  const created = new Date(utc(2026, 0, 10, 15, 30));

  it("counts intervals from the key's creation", () => {
    const hourly = refill({ period: "interval", intervalMs: 3_600_000 });
    expect(refillPeriodStart(hourly, created, utc(2026, 0, 10, 16, 29)).getTime()).toBe(created.getTime());
    expect(refillPeriodStart(hourly, created, utc(2026, 0, 10, 16, 30)).getTime()).toBe(utc(2026, 0, 10, 16, 30));
    expect(refillPeriodStart(hourly, created, utc(2026, 0, 11, 0, 0)).getTime()).toBe(utc(2026, 0, 10, 23, 30));
  });

  it("starts daily periods at 00:00 UTC", () => {
    const daily = refill({ period: "daily" });
    expect(refillPeriodStart(daily, created, utc(2026, 0, 11, 0, 0)).getTime()).toBe(utc(2026, 0, 11));
    expect(refillPeriodStart(daily, created, utc(2026, 0, 11, 23, 59)).getTime()).toBe(utc(2026, 0, 11));
  });

  it("starts monthly periods on the day, or the month's last day when it is shorter", () => {
    const on31st = refill({ period: "monthly", dayOfMonth: 31 });
    expect(refillPeriodStart(on31st, created, utc(2026, 1, 27)).getTime()).toBe(utc(2026, 0, 31));
    expect(refillPeriodStart(on31st, created, utc(2026, 1, 28)).getTime()).toBe(utc(2026, 1, 28));
    expect(refillPeriodStart(on31st, created, utc(2028, 1, 29, 1)).getTime()).toBe(utc(2028, 1, 29));
    expect(refillPeriodStart(on31st, created, utc(2026, 3, 30, 12)).getTime()).toBe(utc(2026, 3, 30));
    const on15th = refill({ period: "monthly", dayOfMonth: 15 });
    expect(refillPeriodStart(on15th, created, utc(2026, 0, 1)).getTime()).toBe(utc(2025, 11, 15));
    expect(refillPeriodStart(on15th, created, utc(2026, 0, 15)).getTime()).toBe(utc(2026, 0, 15));
  });

  it("is due once the last refill is older than the period's start", () => {
    const daily = refill({ period: "daily", lastRefillAt: created });
    expect(isRefillDue(daily, created, utc(2026, 0, 10, 23, 59))).toBe(false);
    expect(isRefillDue(daily, created, utc(2026, 0, 11))).toBe(true);
    expect(isRefillDue({ ...daily, lastRefillAt: new Date(utc(2026, 0, 11)) }, created, utc(2026, 0, 11, 8))).toBe(false);
  });
});
