import { parsePermissionQuery, type PermissionQuery } from "../../domain/permission-query.js";

/**
 * Verifiers ask the same few questions over and over: each distinct query is parsed once per
 * workspace. Every workspace has a bound of its own, so one sending endless distinct queries
 * empties only its own list and never makes another's verifications parse again.
 */
export class ParsedQueries {
  private readonly byWorkspace = new Map<string, Map<string, PermissionQuery>>();

  constructor(
    private readonly perWorkspace: number,
    private readonly parse: (query: string, field: string) => PermissionQuery = parsePermissionQuery,
  ) {}

  /** The query parsed; a query that does not parse throws, as `parse` does, and is not kept. */
  get(workspaceId: string, query: string, field: string): PermissionQuery {
    let queries = this.byWorkspace.get(workspaceId);
    if (!queries) this.byWorkspace.set(workspaceId, (queries = new Map()));
    let parsed = queries.get(query);
    if (!parsed) {
      parsed = this.parse(query, field);
      if (queries.size >= this.perWorkspace) queries.clear();
      queries.set(query, parsed);
    }
    return parsed;
  }
}
