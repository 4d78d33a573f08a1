/** A held counter, and whether it was asked for since the last eviction walk passed it. */
interface Slot<C> {
  counter: C;
  used: boolean;
}

/**
 * The rate-limit counters one instance holds, per workspace. A workspace holds at most
 * `maxPerWorkspace`; to make room, the oldest counter not used since an eviction walk last passed
 * it gives its place up, and the used ones it passes go to the back (a second chance, as the key
 * cache does): roughly the least recently used. A counter asked for is only marked, not moved:
 * moving it on every request (a Map delete and set) made every limited verification fill the Map
 * with deleted entries that V8 then reallocated it to clear. Every step is O(1) amortized.
 */
export class WorkspaceCounters<C> {
  private readonly workspaces = new Map<string, Map<string, Slot<C>>>();

  constructor(
    private readonly maxPerWorkspace: number,
    /** Told of a counter that gave its place up, to drop what else refers to it. */
    private readonly evicted: (name: string, counter: C) => void,
  ) {}

  /**
   * The workspace's counter of this name, until `put` puts it (or what replaces it) back. When
   * none is held and the workspace is full, one gives its place up.
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
      return slot.counter;
    }
    if (slots.size >= this.maxPerWorkspace) this.evictFrom(slots);
    return undefined;
  }

  /** Puts a counter taken with `take` back, or the one that replaces it. */
  put(workspaceId: string, name: string, counter: C) {
    const slots = this.workspaces.get(workspaceId)!;
    const slot = slots.get(name);
    if (slot) slot.counter = counter;
    else slots.set(name, { counter, used: false });
  }

  /** Counters held, in all workspaces. */
  get size() {
    let total = 0;
    for (const slots of this.workspaces.values()) total += slots.size;
    return total;
  }

  private evictFrom(slots: Map<string, Slot<C>>) {
    for (const [name, slot] of slots) {
      slots.delete(name);
      if (!slot.used) {
        this.evicted(name, slot.counter);
        return;
      }
      slot.used = false;
      slots.set(name, slot);
    }
  }
}
