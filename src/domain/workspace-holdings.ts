/** Something held, and whether it was asked for since the last eviction walk passed it. */
interface Slot<C> {
  held: C;
  used: boolean;
}

/**
 * What one instance holds per workspace and by name, on the request path: rate-limit counters,
 * a namespace's overrides. A workspace holds at most `maxPerWorkspace`; to make room, the oldest
 * not used since an eviction walk last passed it gives its place up, and the used ones it passes
 * go to the back (a second chance, as the key cache does): roughly the least recently used. One
 * asked for is only marked, not moved: moving it on every request (a Map delete and set) made
 * every limited request fill the Map with deleted entries that V8 then reallocated it to clear.
 * Every step is O(1) amortized.
 */
export class WorkspaceHoldings<C> {
  private readonly workspaces = new Map<string, Map<string, Slot<C>>>();

  constructor(
    private readonly maxPerWorkspace: number,
    /** Told of one that gave its place up, to drop what else refers to it. */
    private readonly evicted: (name: string, held: C) => void,
  ) {}

  /**
   * What the workspace holds under this name, until `put` puts it (or what replaces it) back. When
   * nothing is held and the workspace is full, one gives its place up.
   */
  take(workspaceId: string, name: string): C | undefined {
    let slots = this.workspaces.get(workspaceId);
    if (!slots) {
      slots = new Map();
      this.workspaces.set(workspaceId, slots);
    }
    const slot = slots.get(name);
    if (slot) {
      slot.used = true;
      return slot.held;
    }
    if (slots.size >= this.maxPerWorkspace) this.evictFrom(slots);
    return undefined;
  }

  /** Puts what was taken with `take` back, or what replaces it. */
  put(workspaceId: string, name: string, held: C) {
    const slots = this.workspaces.get(workspaceId)!;
    const slot = slots.get(name);
    if (slot) slot.held = held;
    else slots.set(name, { held, used: false });
  }

  /** Drops what is held under this name (only if it is `held`, when given), without telling `evicted`. */
  forget(workspaceId: string, name: string, held?: C) {
    const slots = this.workspaces.get(workspaceId);
    if (slots && (held === undefined || slots.get(name)?.held === held)) slots.delete(name);
  }

  /** Held, in all workspaces. */
  get size() {
    let total = 0;
    for (const slots of this.workspaces.values()) total += slots.size;
    return total;
  }

  private evictFrom(slots: Map<string, Slot<C>>) {
    for (const [name, slot] of slots) {
      slots.delete(name);
      if (!slot.used) {
        this.evicted(name, slot.held);
        return;
      }
      slot.used = false;
      slots.set(name, slot);
    }
  }
}
