import { describe, expect, it } from "vitest";
import { WorkspaceCounters } from "../../src/domain/workspace-counters.js";

describe("WorkspaceCounters", () => {
  it("holds at most maxPerWorkspace counters per workspace, the least recently used giving its place up", () => {
    const evicted: string[] = [];
    const counters = new WorkspaceCounters<number>(2, (name) => evicted.push(name));
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

  it("counts each workspace against its own bound", () => {
    const evicted: string[] = [];
    const counters = new WorkspaceCounters<number>(1, (name) => evicted.push(name));
    for (const workspaceId of ["ws_a", "ws_b", "ws_c"]) counters.put(workspaceId, "x", counters.take(workspaceId, "x") ?? 1);
    expect(counters.size).toBe(3);
    expect(evicted).toEqual([]);
  });
});
