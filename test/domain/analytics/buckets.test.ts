import { describe, expect, it } from "vitest";
import { bucketStart, checkRange, nextBucket } from "../../../src/domain/analytics/buckets.js";
import { DomainError } from "../../../src/domain/errors.js";
import { at } from "./minute-counts.js";

describe("buckets", () => {
  it("start on UTC boundaries, months on their first day", () => {
    const time = at("2026-02-28T23:59:59.999Z");
    expect(new Date(bucketStart("minute", time)).toISOString()).toBe("2026-02-28T23:59:00.000Z");
    expect(new Date(bucketStart("hour", time)).toISOString()).toBe("2026-02-28T23:00:00.000Z");
    expect(new Date(bucketStart("day", time)).toISOString()).toBe("2026-02-28T00:00:00.000Z");
    expect(new Date(bucketStart("month", time)).toISOString()).toBe("2026-02-01T00:00:00.000Z");
    expect(new Date(nextBucket("month", bucketStart("month", time))).toISOString()).toBe("2026-03-01T00:00:00.000Z");
    expect(new Date(nextBucket("month", at("2026-12-01T00:00:00Z"))).toISOString()).toBe("2027-01-01T00:00:00.000Z");
  });

  it("refuses a range out of order or longer than its granularity allows, naming end_time", () => {
    const from = new Date(at("2026-01-01T00:00:00Z"));
    expect(() => checkRange("minute", from, from)).toThrow("end_time must be after start_time");
    expect(() => checkRange("minute", from, new Date(from.getTime() + 86_400_001))).toThrow(DomainError);
    expect(() => checkRange("minute", from, new Date(from.getTime() + 86_400_000))).not.toThrow();
    expect(() => checkRange("hour", from, new Date(from.getTime() + 93 * 86_400_000))).toThrow("may be at most 92 days after start_time at hour granularity");
  });
});
