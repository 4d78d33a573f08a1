import { describe, expect, it } from "vitest";
import { applyGrantChange, validateRole } from "../../src/domain/rbac.js";

describe("applyGrantChange", () => {
  it("adds without repeats, removes what is there, sets exactly; each idempotent", () => {
    expect(applyGrantChange(["a"], "add", ["b", "a", "b"])).toEqual(["a", "b"]);
    expect(applyGrantChange(["a", "b"], "add", ["b"])).toEqual(["a", "b"]);
    expect(applyGrantChange(["a", "b"], "remove", ["a", "z"])).toEqual(["b"]);
    expect(applyGrantChange(["b"], "remove", ["a"])).toEqual(["b"]);
    expect(applyGrantChange(["a"], "set", ["c", "c"])).toEqual(["c"]);
  });
});

describe("validateRole", () => {
  it("checks only the fields given", () => {
    expect(() => validateRole({ description: "x" })).not.toThrow();
    expect(() => validateRole({ name: "a*b" })).toThrow("role.name must be 1 to 64 letters");
    expect(() => validateRole({ permissions: ["ok", "not ok"] })).toThrow("role.permissions[1] must be");
    expect(() => validateRole({ description: "x".repeat(513) })).toThrow("role.description must be at most 512 characters");
  });
});
