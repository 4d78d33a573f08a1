import { failedPrecondition, notFound } from "./errors.js";
import { wildcardMatcher } from "./wildcard.js";

/**
 * Rate limiting as a service: limits on any identifier (an IP address, an email, a customer id),
 * grouped in namespaces of a workspace. Counting is in domain/sliding-window.ts; this is what the
 * workspace configures.
 */

/** A group of identifiers; made by its first Limit or SetOverride. Unique: workspace and name. */
export interface RatelimitNamespaceRecord {
  id: string;
  workspaceId: string;
  name: string;
  createdAt: Date;
}

/**
 * Another limit and duration for an identifier, or for every identifier a pattern with `*`
 * matches, in one namespace. Unique: workspace, namespace and identifier.
 */
export interface RatelimitOverrideRecord {
  id: string;
  workspaceId: string;
  namespace: string;
  /** An identifier, or a pattern when it holds `*`. */
  identifier: string;
  limit: number;
  durationMs: number;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * Overrides held per namespace: each instance keeps a namespace's overrides in memory, so this
 * bounds what one namespace costs it.
 */
export const MAX_OVERRIDES_PER_NAMESPACE = 1000;

export const WILDCARD = "*";

export const isPattern = (identifier: string) => identifier.includes(WILDCARD);

/** What decides a request's limit and window. */
export interface AppliedLimit {
  limit: number;
  durationMs: number;
  /** The override that applied, if one did. */
  overrideId: string;
}

/**
 * A namespace's overrides, ready to match: an exact identifier beats a pattern; of several
 * patterns, the longest (the most specific) wins, then the oldest.
 */
export class NamespaceOverrides {
  private readonly exact = new Map<string, RatelimitOverrideRecord>();
  private readonly patterns: { matches: (identifier: string) => boolean; override: RatelimitOverrideRecord }[] = [];

  constructor(overrides: readonly RatelimitOverrideRecord[]) {
    for (const override of overrides) {
      if (isPattern(override.identifier)) this.patterns.push({ matches: wildcardMatcher(override.identifier), override });
      else this.exact.set(override.identifier, override);
    }
    this.patterns.sort((a, b) => b.override.identifier.length - a.override.identifier.length || a.override.id.localeCompare(b.override.id));
  }

  /** The override for the identifier, or undefined when the request's own values apply. */
  match(identifier: string): RatelimitOverrideRecord | undefined {
    return this.exact.get(identifier) ?? this.patterns.find(({ matches }) => matches(identifier))?.override;
  }

  apply(identifier: string, requested: { limit: number; durationMs: number }): AppliedLimit {
    const override = this.match(identifier);
    return override
      ? { limit: override.limit, durationMs: override.durationMs, overrideId: override.id }
      : { limit: requested.limit, durationMs: requested.durationMs, overrideId: "" };
  }
}

/** Identifiers may hold characters error messages must not: the message names neither. */
export const overrideNotFound = () => notFound("rate-limit override", "of this namespace and identifier");

export const tooManyOverrides = () =>
  failedPrecondition(`a namespace holds at most ${MAX_OVERRIDES_PER_NAMESPACE} overrides. Delete some first`, "RESOURCE_IN_USE");

/** The change-feed name of a namespace's overrides: instances drop their copy when it changes. */
export const overridesChangeTarget = (workspaceId: string, namespace: string) => ({ ratelimitNamespace: `${workspaceId} ${namespace}` });

/** The workspace and namespace an overridesChangeTarget names (neither holds a space). */
export function namespaceOfChange(ratelimitNamespace: string) {
  const space = ratelimitNamespace.indexOf(" ");
  return { workspaceId: ratelimitNamespace.slice(0, space), namespace: ratelimitNamespace.slice(space + 1) };
}
