import { describe, expect, it } from "vitest";
import { alternatingRounds, pairedFigures, pairedRatio } from "./bench-support.js";

describe("alternatingRounds", () => {
  it("starts each round one kind further along, so no kind always runs first", async () => {
    const order: string[] = [];
    const rounds = await alternatingRounds(["a", "b", "c"], 4, (kind) => {
      order.push(kind);
      return order.length;
    });
    expect(order).toEqual(["a", "b", "c", "b", "c", "a", "c", "a", "b", "a", "b", "c"]);
    expect(rounds).toEqual([
      { a: 1, b: 2, c: 3 },
      { b: 4, c: 5, a: 6 },
      { c: 7, a: 8, b: 9 },
      { a: 10, b: 11, c: 12 },
    ]);
  });

  it("waits for runs that answer later", async () => {
    const rounds = await alternatingRounds(["x", "y"], 2, async (kind) => (kind === "x" ? 1 : 2));
    expect(rounds).toEqual([
      { x: 1, y: 2 },
      { y: 2, x: 1 },
    ]);
  });
});

describe("pairedFigures", () => {
  it("names the median of the rounds' ratios and their spread", () => {
    const paired = pairedRatio([
      { on: 90, off: 100 },
      { on: 80, off: 100 },
      { on: 100, off: 100 },
    ]);
    expect(pairedFigures("verify_vs_grpcjs_empty", paired)).toEqual({
      verify_vs_grpcjs_empty_paired: 0.9,
      verify_vs_grpcjs_empty_paired_lowest: 0.8,
      verify_vs_grpcjs_empty_paired_highest: 1,
    });
  });
});
