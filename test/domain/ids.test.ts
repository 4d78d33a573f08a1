import { describe, expect, it } from "vitest";
import { isId, newId } from "../../src/domain/ids.js";

describe("newId", () => {
  it("sorts by creation time whatever the random part", () => {
    const times = [0, 1, 57, 58, 1_700_000_000_000, 1_700_000_000_001, 2 ** 47];
    const ids = times.map((time) => newId("key", time));
    expect([...ids].sort()).toEqual(ids);
  });

  it("has a fixed shape per kind", () => {
    const id = newId("ks", Date.now());
    expect(id).toMatch(/^ks_[1-9A-HJ-NP-Za-km-z]{21}$/);
    expect(isId("ks", id)).toBe(true);
    expect(isId("key", id)).toBe(false);
    expect(isId("key", newId("key", Date.now()))).toBe(true);
    expect(isId("key", "key_123")).toBe(false);
  });
});
