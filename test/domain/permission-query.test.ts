import { describe, expect, it } from "vitest";
import { DomainError } from "../../src/domain/errors.js";
import { evaluatePermissionQuery, parsePermissionQuery } from "../../src/domain/permission-query.js";

const holds = (granted: string[]) => (query: string) =>
  evaluatePermissionQuery(parsePermissionQuery(query, "permission_query"), (permission) => granted.includes(permission));

describe("permission queries", () => {
  it("evaluates single permissions, AND, OR and parentheses", () => {
    const check = holds(["documents.read", "admin"]);
    expect(check("documents.read")).toBe(true);
    expect(check("documents.write")).toBe(false);
    expect(check("documents.read AND admin")).toBe(true);
    expect(check("documents.read AND documents.write")).toBe(false);
    expect(check("documents.write OR admin")).toBe(true);
    expect(check("documents.read AND (documents.write OR admin)")).toBe(true);
    expect(check("(documents.write OR billing) AND documents.read")).toBe(false);
  });

  it("binds AND tighter than OR", () => {
    expect(holds(["a"])("a OR b AND c")).toBe(true);
    expect(holds(["c"])("a OR b AND c")).toBe(false);
    expect(holds(["c"])("(a OR b) AND c")).toBe(false);
    expect(holds(["b", "c"])("a OR b AND c")).toBe(true);
  });

  it("treats lower-case and/or as permission names", () => {
    expect(holds(["and"])("and")).toBe(true);
    expect(holds(["x"])("x AND or")).toBe(false);
  });

  it.each([
    ["", "is empty"],
    ["a AND", "ends where a permission is expected"],
    ["AND a", "expects a permission"],
    ["a b", "has an unexpected token"],
    ["(a OR b", "expects a closing parenthesis"],
    ["a OR b)", "has an unexpected token"],
    ["a / b", "has an unexpected token"],
    ["()", "expects a permission"],
    [`${"(".repeat(40)}a${")".repeat(40)}`, "nests deeper than 32 levels"],
    ["a".repeat(1025), "must be at most 1024 characters"],
  ])("rejects %j: %s", (query, problem) => {
    let error: unknown;
    try {
      parsePermissionQuery(query, "permission_query");
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).message).toContain(`permission_query ${problem}`);
  });
});
