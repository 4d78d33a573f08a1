import { describe, expect, it } from "vitest";
import { CELLS_PER_WINDOW, grantable } from "../../src/domain/sliding-window.js";

describe("grantable", () => {
  it("grants what fits every run of CELLS_PER_WINDOW + 1 cells holding the cell, counting cells ahead too", () => {
    const limit = 10;
    expect(grantable(new Map([[100, 4]]), 100, 4, limit)).toEqual({ granted: 4, room: 6 });
    expect(
      grantable(
        new Map([
          [100 - CELLS_PER_WINDOW, 7],
          [100, 5],
        ]),
        100,
        5,
        limit,
      ),
    ).toEqual({ granted: 3, room: 0 });
    expect(
      grantable(
        new Map([
          [100 - CELLS_PER_WINDOW - 1, 7],
          [100, 5],
        ]),
        100,
        5,
        limit,
      ),
    ).toEqual({ granted: 5, room: 5 });
    // A faster clock's instance already counted in a later cell: the runs holding both see it.
    expect(
      grantable(
        new Map([
          [100 + CELLS_PER_WINDOW, 8],
          [100, 5],
        ]),
        100,
        5,
        limit,
      ),
    ).toEqual({ granted: 2, room: 0 });
    expect(
      grantable(
        new Map([
          [100 + CELLS_PER_WINDOW + 1, 8],
          [100, 5],
        ]),
        100,
        5,
        limit,
      ),
    ).toEqual({ granted: 5, room: 5 });
  });

  it("counts a cell below zero (units given back to a record made anew) as none", () => {
    expect(
      grantable(
        new Map([
          [99, -50],
          [100, 3],
        ]),
        100,
        3,
        10,
      ),
    ).toEqual({ granted: 3, room: 7 });
  });
});
