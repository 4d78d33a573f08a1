import { RATELIMIT_SOURCE, VERIFICATION_SOURCE, type MinuteCount } from "../domain/analytics/counts.js";

interface MinuteGroups {
  /** By key (or, for verifications without one, workspace), then external id, then tag set. */
  groups: Map<string, Map<string, TagNode>>;
  /** Rate-limit decisions by workspace, then namespace. */
  limits: Map<string, Map<string, LimitGroups>>;
}

/** A namespace's groups by identifier, and the one for identifiers beyond the budget. */
interface LimitGroups {
  identifiers: Map<string, MinuteCount>;
  overflow?: MinuteCount;
}

const emptyMinute = (): MinuteGroups => ({ groups: new Map(), limits: new Map() });

/**
 * A key's groups by tag set, one tag per level, in sorted order: finding a group costs a lookup per
 * tag and builds no string. The root holds the group without tags, and the overflow group.
 */
interface TagNode {
  next?: Map<string, TagNode>;
  group?: MinuteCount;
  overflow?: MinuteCount;
}

/** Where tags out of order are sorted: reused by every call, copied only when a group is opened. */
const tagScratch: string[] = [];

/**
 * The tags sorted and without repeats: the input itself when it already is, as it usually is;
 * otherwise `tagScratch`, sorted in place (requests carry few tags), so no call allocates.
 */
function sortedTags(tags: readonly string[]): readonly string[] {
  let ordered = true;
  for (let i = 1; ordered && i < tags.length; i++) ordered = tags[i - 1]! < tags[i]!;
  if (ordered) return tags;
  tagScratch.length = 0;
  for (const tag of tags) {
    let at = tagScratch.length;
    while (at > 0 && tagScratch[at - 1]! > tag) at--;
    if (at > 0 && tagScratch[at - 1] === tag) continue;
    tagScratch.push(tag);
    for (let i = tagScratch.length - 1; i > at; i--) tagScratch[i] = tagScratch[i - 1]!;
    tagScratch[at] = tag;
  }
  return tagScratch;
}

/**
 * Events counted in memory by group and minute, until `drain` hands them over. A count is a map
 * lookup per level (key, external id, each tag; or workspace, namespace, identifier) and an
 * increment, on the request path. Each workspace may open `maxGroupsPerMinute` groups a minute,
 * across drains; tag sets or identifiers beyond that are counted in an overflow group.
 */
export class MinuteCounts {
  private pending = new Map<number, MinuteGroups>();
  private currentMinute = Number.NaN;
  private current: MinuteGroups = emptyMinute();
  /** The groups opened in `budgetMinute`, across drains, and how many per workspace. */
  private budgetMinute = Number.NaN;
  private readonly openedGroups = new Set<string>();
  private readonly opened = new Map<string, number>();

  constructor(private readonly maxGroupsPerMinute: number) {}

  /** One event. Outcome names become stored field names: lowercase letters and underscores only. */
  count(
    minute: number,
    source: string,
    workspaceId: string,
    keyspaceId: string,
    keyId: string,
    externalId: string,
    outcome: string,
    tags: readonly string[],
    credits: number,
  ) {
    if (minute !== this.currentMinute) this.enterMinute(minute);
    // A key's id names its workspace and keyspace, and is the same string every time, so its hash
    // is computed once; a verification without a key has no keyspace either, and ids of keys and
    // workspaces never collide.
    const primary = source === VERIFICATION_SOURCE ? keyId || workspaceId : `${source}\0${workspaceId}\0${keyspaceId}\0${keyId}`;
    let byIdentity = this.current.groups.get(primary);
    if (!byIdentity) this.current.groups.set(primary, (byIdentity = new Map()));
    let root = byIdentity.get(externalId);
    if (!root) byIdentity.set(externalId, (root = {}));
    const sorted = sortedTags(tags);
    let node: TagNode | undefined = root;
    for (let i = 0; node && i < sorted.length; i++) node = node.next?.get(sorted[i]!);
    const group = node?.group ?? this.openGroup(root, { source, workspaceId, keyspaceId, keyId, externalId, tags: sorted, minute });
    group.outcomes[outcome] = (group.outcomes[outcome] ?? 0) + 1;
    group.credits += credits;
  }

  /**
   * One limit of a Limit or MultiLimit decision, `passed` when the request went ahead. Identifiers
   * are the caller's to choose: each one counts against the workspace's budget of groups, and those
   * beyond it are counted in the namespace's overflow group, without their identifier.
   */
  countLimit(minute: number, workspaceId: string, namespace: string, identifier: string, passed: boolean) {
    if (minute !== this.currentMinute) this.enterMinute(minute);
    let byNamespace = this.current.limits.get(workspaceId);
    if (!byNamespace) this.current.limits.set(workspaceId, (byNamespace = new Map()));
    let groups = byNamespace.get(namespace);
    if (!groups) byNamespace.set(namespace, (groups = { identifiers: new Map() }));
    const group = groups.identifiers.get(identifier) ?? this.openLimitGroup(groups, workspaceId, namespace, identifier, minute);
    const outcome = passed ? "passed" : "refused";
    group.outcomes[outcome] = (group.outcomes[outcome] ?? 0) + 1;
  }

  /** Everything counted so far, which is forgotten here. */
  drain(): MinuteCount[] {
    const counts = [...this.pending.values()].flatMap(countsOf);
    this.pending = new Map();
    this.currentMinute = Number.NaN;
    return counts;
  }

  private enterMinute(minute: number) {
    this.currentMinute = minute;
    let groups = this.pending.get(minute);
    if (!groups) this.pending.set(minute, (groups = emptyMinute()));
    this.current = groups;
    if (minute !== this.budgetMinute) {
      this.budgetMinute = minute;
      this.openedGroups.clear();
      this.opened.clear();
    }
  }

  /**
   * A new group of the minute, within the workspace's budget. Past the budget, a tagged event is
   * counted in its key's overflow group instead, which keeps everything but its tags; groups without
   * tags are bounded by the workspace's keys and are always opened.
   */
  private openGroup(root: TagNode, event: Omit<MinuteCount, "outcomes" | "credits" | "overflow" | "tags"> & { tags: readonly string[] }): MinuteCount {
    const tagSet = JSON.stringify(event.tags);
    const groupKey = `${event.source}\0${event.workspaceId}\0${event.keyspaceId}\0${event.keyId}\0${event.externalId}\0${tagSet}`;
    if (!this.admits(groupKey, event.workspaceId, event.tags.length === 0)) {
      return (root.overflow ??= { ...event, tags: [], overflow: true, outcomes: {}, credits: 0 });
    }
    let node = root;
    for (const tag of event.tags) {
      let next = node.next?.get(tag);
      if (!next) (node.next ??= new Map()).set(tag, (next = {}));
      node = next;
    }
    return (node.group ??= { ...event, tags: [...event.tags], overflow: false, outcomes: {}, credits: 0 });
  }

  /**
   * Whether the group may open in this minute: one already opened in it may, a new one while its
   * workspace has budget left, or always when `beyondBudget` (it is then counted all the same).
   */
  private admits(groupKey: string, workspaceId: string, beyondBudget: boolean): boolean {
    if (this.openedGroups.has(groupKey)) return true;
    const opened = this.opened.get(workspaceId) ?? 0;
    if (!beyondBudget && opened >= this.maxGroupsPerMinute) return false;
    this.openedGroups.add(groupKey);
    this.opened.set(workspaceId, opened + 1);
    return true;
  }

  private openLimitGroup(groups: LimitGroups, workspaceId: string, namespace: string, identifier: string, minute: number): MinuteCount {
    const groupKey = `${RATELIMIT_SOURCE}\0${workspaceId}\0${namespace}\0${identifier}`;
    const group = { source: RATELIMIT_SOURCE, workspaceId, keyspaceId: namespace, externalId: "", tags: [], minute, outcomes: {}, credits: 0 };
    if (!this.admits(groupKey, workspaceId, false)) return (groups.overflow ??= { ...group, keyId: "", overflow: true });
    const opening = { ...group, keyId: identifier, overflow: false };
    groups.identifiers.set(identifier, opening);
    return opening;
  }
}

function countsOf(minute: MinuteGroups): MinuteCount[] {
  const verifications = [...minute.groups.values()].flatMap((byIdentity) => [...byIdentity.values()].flatMap((root) => groupsUnder(root)));
  const limits = [...minute.limits.values()].flatMap((byNamespace) =>
    [...byNamespace.values()].flatMap((groups) => (groups.overflow ? [...groups.identifiers.values(), groups.overflow] : [...groups.identifiers.values()])),
  );
  return [...verifications, ...limits];
}

function groupsUnder(node: TagNode): MinuteCount[] {
  const here = [node.group, node.overflow].filter((group): group is MinuteCount => group !== undefined);
  return node.next ? [...here, ...[...node.next.values()].flatMap(groupsUnder)] : here;
}
