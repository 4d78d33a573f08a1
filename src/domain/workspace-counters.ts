/**
 * The rate-limit counters one instance holds, per workspace, least recently used first. A workspace
 * holds at most `maxPerWorkspace`; the least recently used gives its place up. Every step is O(1).
 */
export class WorkspaceCounters<C> {
  private readonly workspaces = new Map<string, Map<string, C>>();

  constructor(
    private readonly maxPerWorkspace: number,
    /** Told of a counter that gave its place up, to drop what else refers to it. */
    private readonly evicted: (name: string, counter: C) => void,
  ) {}

  /**
   * The workspace's counter of this name, taken out until `put` puts it (or what replaces it) back
   * as the most recently used. When none is held and the workspace is full, the least recently
   * used gives its place up.
   */
  take(workspaceId: string, name: string): C | undefined {
    let counters = this.workspaces.get(workspaceId);
    if (!counters) {
      counters = new Map();
      this.workspaces.set(workspaceId, counters);
    }
    const counter = counters.get(name);
    if (counter) counters.delete(name);
    else if (counters.size >= this.maxPerWorkspace) {
      const [oldestName, oldest] = counters.entries().next().value!;
      counters.delete(oldestName);
      this.evicted(oldestName, oldest);
    }
    return counter;
  }

  /** Puts a counter taken with `take` back, as the workspace's most recently used. */
  put(workspaceId: string, name: string, counter: C) {
    this.workspaces.get(workspaceId)!.set(name, counter);
  }

  /** Counters held, in all workspaces. */
  get size() {
    let total = 0;
    for (const counters of this.workspaces.values()) total += counters.size;
    return total;
  }
}
