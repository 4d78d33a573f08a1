import { describe, expect, it } from "vitest";
import { windowStart } from "../../src/domain/fixed-window.js";

describe("windowStart", () => {
  it("offsets each counter's windows by its name, so counters do not all roll over at once", () => {
    const starts = new Set(["a", "b", "c", "d", "e"].map((counter) => windowStart({ counter, durationMs: 60_000 }, 1_000_000) % 60_000));
    expect(starts.size).toBeGreaterThan(1);
    for (const counter of ["a", "b"]) {
      const start = windowStart({ counter, durationMs: 60_000 }, 1_000_000);
      expect(start).toBeLessThanOrEqual(1_000_000);
      expect(start + 60_000).toBeGreaterThan(1_000_000);
    }
  });
});
