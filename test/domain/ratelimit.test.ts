import { describe, expect, it } from "vitest";
import { namespaceOfChange, NamespaceOverrides, overridesChangeTarget } from "../../src/domain/ratelimit.js";
import { overrideRecord } from "../support/fixtures.js";

const override = (id: string, identifier: string, limit: number) => overrideRecord({ id, identifier, limit });

describe("NamespaceOverrides", () => {
  it("applies an exact identifier first, then the longest matching pattern, then the oldest, then the request's own values", () => {
    const overrides = new NamespaceOverrides([
      override("rlov_2", "*", 1),
      override("rlov_1", "a*", 2),
      override("rlov_3", "b*", 3),
      override("rlov_4", "*@example.com", 4),
      override("rlov_5", "ceo@example.com", 5),
      override("rlov_0", "z*", 6),
      override("rlov_6", "*z", 7),
    ]);
    const requested = { limit: 100, durationMs: 60_000 };
    expect(overrides.apply("ceo@example.com", requested)).toEqual({ limit: 5, durationMs: 1000, overrideId: "rlov_5" });
    expect(overrides.apply("ann@example.com", requested).overrideId).toBe("rlov_4");
    expect(overrides.apply("ann@example.org", requested).overrideId).toBe("rlov_1");
    expect(overrides.apply("zz", requested).overrideId).toBe("rlov_0");
    expect(overrides.apply("", requested).overrideId).toBe("rlov_2");
    expect(new NamespaceOverrides([override("rlov_1", "a*", 2)]).apply("b", requested)).toEqual({ ...requested, overrideId: "" });
  });

  it("matches `*` as any run of characters, and every other character as itself", () => {
    const overrides = new NamespaceOverrides([override("rlov_1", "10.0.*.1", 1), override("rlov_2", "a.b(c)+[d]", 2)]);
    expect(overrides.match("10.0.255.1")?.id).toBe("rlov_1");
    expect(overrides.match("10.0..1")?.id).toBe("rlov_1");
    expect(overrides.match("10.0.2551")).toBeUndefined();
    expect(overrides.match("a.b(c)+[d]")?.id).toBe("rlov_2");
    expect(overrides.match("aXb(c)+[d]")).toBeUndefined();
  });
});

describe("overridesChangeTarget", () => {
  it("names the workspace and namespace so that the change feed's readers can tell both again", () => {
    expect(namespaceOfChange(overridesChangeTarget("ws_a", "logins.v2").ratelimitNamespace)).toEqual({ workspaceId: "ws_a", namespace: "logins.v2" });
  });
});
