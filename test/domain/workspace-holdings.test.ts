import { describe, expect, it } from "vitest";
import { WorkspaceHoldings } from "../../src/domain/workspace-holdings.js";

describe("WorkspaceHoldings", () => {
  it("holds at most maxPerWorkspace counters per workspace, the least recently used giving its place up", () => {
    const evicted: string[] = [];
    const counters = new WorkspaceHoldings<number>(2, (name) => evicted.push(name));
    const use = (workspaceId: string, name: string, value: number) => {
      const held = counters.take(workspaceId, name);
      counters.put(workspaceId, name, held ?? value);
      return held;
    };
    use("ws_a", "a", 1);
    use("ws_a", "b", 2);
    expect(use("ws_a", "a", 0)).toBe(1);
    use("ws_a", "c", 3);
    expect(evicted).toEqual(["b"]);
    expect(use("ws_a", "b", 4)).toBeUndefined();
    expect(evicted).toEqual(["b", "a"]);
  });

  it("gives a counter used since the last walk a second chance, and evicts one in use only after every other has had its chance", () => {
    const evicted: string[] = [];
    const counters = new WorkspaceHoldings<number>(3, (name) => evicted.push(name));
    const use = (name: string) => counters.put("ws_a", name, counters.take("ws_a", name) ?? 0);
    for (const name of ["a", "b", "c"]) use(name);
    use("a");
    use("b");
    use("d");
    expect(evicted).toEqual(["c"]);
    use("a");
    use("b");
    use("d");
    use("e");
    // Every counter was used since the walk passed it: the walk goes round once, clearing marks, and evicts the oldest.
    expect(evicted).toEqual(["c", "a"]);
    expect(counters.size).toBe(3);
  });

  it("keeps a replaced counter in its place", () => {
    const evicted: number[] = [];
    const counters = new WorkspaceHoldings<number>(1, (_, counter) => evicted.push(counter));
    counters.put("ws_a", "a", counters.take("ws_a", "a") ?? 1);
    counters.take("ws_a", "a");
    counters.put("ws_a", "a", 2);
    expect(counters.size).toBe(1);
    counters.put("ws_a", "b", counters.take("ws_a", "b") ?? 3);
    expect(evicted).toEqual([2]);
  });

  it("forgets what it holds under a name, only the given one when told which, without counting it as evicted", () => {
    const evicted: string[] = [];
    const holdings = new WorkspaceHoldings<number>(2, (name) => evicted.push(name));
    holdings.put("ws_a", "a", holdings.take("ws_a", "a") ?? 1);
    holdings.forget("ws_a", "a", 2);
    expect(holdings.take("ws_a", "a")).toBe(1);
    holdings.forget("ws_a", "a", 1);
    expect(holdings.take("ws_a", "a")).toBeUndefined();
    holdings.put("ws_a", "b", 3);
    holdings.forget("ws_a", "b");
    holdings.forget("ws_b", "b");
    expect(holdings.size).toBe(0);
    expect(evicted).toEqual([]);
  });

  it("counts each workspace against its own bound", () => {
    const evicted: string[] = [];
    const counters = new WorkspaceHoldings<number>(1, (name) => evicted.push(name));
    for (const workspaceId of ["ws_a", "ws_b", "ws_c"]) counters.put(workspaceId, "x", counters.take(workspaceId, "x") ?? 1);
    expect(counters.size).toBe(3);
    expect(evicted).toEqual([]);
  });
});
