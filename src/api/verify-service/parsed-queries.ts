import { parsePermissionQuery, type PermissionQuery } from "../../domain/permission-query.js";

/**
 * Verifiers ask the same few questions over and over: each distinct query is parsed once per
 * workspace. Every workspace has a bound of its own, so one sending endless distinct queries
 * empties only its own list and never makes another's verifications parse again; a bound over all
 * of them keeps memory fixed however many workspaces verify, forgetting first the workspace whose
 * list is oldest.
 */
export class ParsedQueries {
  private readonly byWorkspace = new Map<string, Map<string, PermissionQuery>>();
  private held = 0;

  constructor(
    private readonly perWorkspace: number,
    private readonly inAll: number,
    private readonly parse: (query: string, field: string) => PermissionQuery = parsePermissionQuery,
  ) {}

  /** The query parsed; a query that does not parse throws, as `parse` does, and nothing is kept. */
  get(workspaceId: string, query: string, field: string): PermissionQuery {
    const known = this.byWorkspace.get(workspaceId)?.get(query);
    if (known) return known;
    const parsed = this.parse(query, field);
    this.keep(workspaceId, query, parsed);
    return parsed;
  }

  private keep(workspaceId: string, query: string, parsed: PermissionQuery) {
    if ((this.byWorkspace.get(workspaceId)?.size ?? 0) >= this.perWorkspace) this.forget(workspaceId);
    while (this.held >= this.inAll) this.forget(this.byWorkspace.keys().next().value!);
    let queries = this.byWorkspace.get(workspaceId);
    if (!queries) this.byWorkspace.set(workspaceId, (queries = new Map()));
    queries.set(query, parsed);
    this.held++;
  }

  private forget(workspaceId: string) {
    this.held -= this.byWorkspace.get(workspaceId)?.size ?? 0;
    this.byWorkspace.delete(workspaceId);
  }
}
