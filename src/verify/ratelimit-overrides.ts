import type { RandomSource } from "../domain/base58.js";
import { newId } from "../domain/ids.js";
import { MAX_OVERRIDES_PER_NAMESPACE, NamespaceOverrides, namespaceOfChange, type RatelimitOverrideRecord } from "../domain/ratelimit.js";
import type { RatelimitStore } from "../store/ratelimits/index.js";
import type { KeyChangeTarget } from "../store/store.js";
import { WorkspaceHoldings } from "../domain/workspace-holdings.js";
import type { ChangeSubscriber } from "./change-feed.js";

interface Entry {
  overrides: Promise<NamespaceOverrides>;
  loadedAt: number;
}

/** Namespaces whose overrides one instance keeps per workspace; roughly the least recently used goes first (WorkspaceHoldings). */
export const MAX_CACHED_NAMESPACES_PER_WORKSPACE = 1000;

/**
 * Each namespace's overrides, in memory: a Limit needs no storage read to find its override.
 * The change feed drops a namespace's copy when its overrides change, on every instance within
 * its poll; `ttlMs` is only a backstop. Loading a namespace also records it, so the first Limit
 * in a namespace makes it.
 */
export class RatelimitOverrides implements ChangeSubscriber {
  private readonly held: WorkspaceHoldings<Entry>;
  /** Loaded and settled, for answers that need no promise. */
  private readonly settled = new WeakMap<Promise<NamespaceOverrides>, NamespaceOverrides>();

  constructor(
    private readonly store: RatelimitStore,
    private readonly options: { now: () => number; ttlMs: number; random?: RandomSource; maxNamespacesPerWorkspace?: number },
  ) {
    this.held = new WorkspaceHoldings(options.maxNamespacesPerWorkspace ?? MAX_CACHED_NAMESPACES_PER_WORKSPACE, () => {});
  }

  /** The namespace's overrides: without a promise when this instance holds them. */
  of(workspaceId: string, namespace: string): NamespaceOverrides | Promise<NamespaceOverrides> {
    let entry = this.held.take(workspaceId, namespace);
    if (!entry || this.options.now() - entry.loadedAt > this.options.ttlMs) entry = this.load(workspaceId, namespace);
    this.held.put(workspaceId, namespace, entry);
    return this.settled.get(entry.overrides) ?? entry.overrides;
  }

  evict(change: KeyChangeTarget) {
    if (!change.ratelimitNamespace) return;
    const { workspaceId, namespace } = namespaceOfChange(change.ratelimitNamespace);
    this.held.forget(workspaceId, namespace);
  }

  /**
   * Every override of the namespace. SetOverrides racing at the cap can leave a few more than
   * MAX_OVERRIDES_PER_NAMESPACE, and each of them applies.
   */
  private async allOverrides(workspaceId: string, namespace: string) {
    const records: RatelimitOverrideRecord[] = [];
    for (;;) {
      const page = await this.store.overrides.list({ workspaceId, namespace }, { limit: MAX_OVERRIDES_PER_NAMESPACE, after: records.at(-1)?.id });
      records.push(...page);
      if (page.length < MAX_OVERRIDES_PER_NAMESPACE) return records;
    }
  }

  private load(workspaceId: string, namespace: string): Entry {
    const now = this.options.now();
    const entry: Entry = {
      loadedAt: now,
      overrides: (async () => {
        await this.store.namespaces.insertMissing([{ id: newId("rlns", now, this.options.random), workspaceId, name: namespace, createdAt: new Date(now) }]);
        return new NamespaceOverrides(await this.allOverrides(workspaceId, namespace));
      })(),
    };
    entry.overrides.then(
      (overrides) => this.settled.set(entry.overrides, overrides),
      // A failed load is not kept: the next request tries again.
      () => this.held.forget(workspaceId, namespace, entry),
    );
    return entry;
  }
}
