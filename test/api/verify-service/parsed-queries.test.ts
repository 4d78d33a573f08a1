import { describe, expect, it } from "vitest";
import { ParsedQueries } from "../../../src/api/verify-service/parsed-queries.js";
import { parsePermissionQuery } from "../../../src/domain/permission-query.js";

/** A ParsedQueries whose parses are counted, by query. */
function counted(perWorkspace: number, inAll = 1000) {
  const parses: string[] = [];
  const queries = new ParsedQueries(perWorkspace, inAll, (query, field) => {
    parses.push(query);
    return parsePermissionQuery(query, field);
  });
  return { queries, parses };
}

describe("ParsedQueries", () => {
  it("parses each query once per workspace, to what parsePermissionQuery makes of it", () => {
    const { queries, parses } = counted(10);
    const query = "documents.read AND (documents.write OR admin)";
    expect(queries.get("ws_a", query, "permission_query")).toEqual(parsePermissionQuery(query, "permission_query"));
    queries.get("ws_a", query, "permission_query");
    queries.get("ws_b", query, "permission_query");
    expect(parses).toEqual([query, query]);
  });

  it("a workspace sending endless distinct queries never makes another's parse again", () => {
    const { queries, parses } = counted(10);
    queries.get("ws_quiet", "billing.read", "permission_query");
    for (let i = 0; i < 1000; i++) queries.get("ws_flood", `p${i}.read`, "permission_query");
    parses.length = 0;
    queries.get("ws_quiet", "billing.read", "permission_query");
    expect(parses).toEqual([]);
    queries.get("ws_flood", "p0.read", "permission_query");
    expect(parses).toEqual(["p0.read"]);
  });

  it("holds at most its bound over all workspaces, forgetting first the workspace whose list is oldest", () => {
    const { queries, parses } = counted(10, 25);
    for (let workspace = 0; workspace < 5; workspace++) {
      for (let i = 0; i < 5; i++) queries.get(`ws_${workspace}`, `p${i}.read`, "permission_query");
    }
    parses.length = 0;
    queries.get("ws_5", "p0.read", "permission_query");
    queries.get("ws_1", "p0.read", "permission_query");
    queries.get("ws_0", "p0.read", "permission_query");
    expect(parses).toEqual(["p0.read", "p0.read"]);
  });

  it("a query that does not parse throws as the parser does, and is not kept", () => {
    const { queries, parses } = counted(10);
    expect(() => queries.get("ws_a", "a AND", "permission_query")).toThrow("permission_query ends where a permission is expected");
    expect(() => queries.get("ws_a", "a AND", "permission_query")).toThrow();
    expect(parses).toEqual(["a AND", "a AND"]);
  });
});
