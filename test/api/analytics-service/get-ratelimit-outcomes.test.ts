import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { type GetRatelimitOutcomesRequest, Granularity, RatelimitGrouping, RatelimitOutcome } from "../../../gen/latchkey/v1/analytics_pb.js";
import { DEFAULT_VERIFICATION_OPTIONS } from "../../../src/verify/index.js";
import { type Clients, expectCode, stringify, testApi } from "../../support/api.js";

const login = (identifier: string) => ({ namespace: "login", identifier, limit: 2n, durationMs: 60_000n });
const startOfDay = timestampFromMs(Date.UTC(2026, 0, 15));

async function outcomes(as: Clients, request: Partial<Omit<GetRatelimitOutcomesRequest, "$typeName" | "$unknown">>) {
  const answer = await as.analytics.getRatelimitOutcomes({ startTime: startOfDay, granularity: Granularity.DAY, ...request });
  return JSON.parse(stringify(answer.buckets)) as Record<string, unknown>[];
}

describe("AnalyticsService.GetRatelimitOutcomes", () => {
  it("counts each limit of Limit and MultiLimit calls as passed or refused, by namespace, identifier and outcome", async () => {
    const api = testApi();
    await api.workspace();
    for (let i = 0; i < 3; i++) await api.ratelimits.limit(login("ann@example.com"));
    await api.ratelimits.limit(login("b.c$d"));
    // The second limit has no room: the request is refused, and both its limits count as refused.
    await api.ratelimits.multiLimit({ limits: [{ ...login("b.c$d"), namespace: "export" }, login("ann@example.com")] });
    await api.verification.analytics!.flush();

    expect(await outcomes(api, {})).toMatchObject([
      { total: "6", passed: "3", refused: "3", outcomes: { RATELIMIT_OUTCOME_PASSED: "3", RATELIMIT_OUTCOME_REFUSED: "3" } },
    ]);
    const byIdentifier = await outcomes(api, { groupBy: [RatelimitGrouping.NAMESPACE, RatelimitGrouping.IDENTIFIER, RatelimitGrouping.OUTCOME] });
    expect(byIdentifier.map((bucket) => [bucket.namespace, bucket.identifier, bucket.outcome, bucket.total])).toEqual([
      ["export", "b.c$d", RatelimitOutcome.REFUSED, "1"],
      ["login", "ann@example.com", RatelimitOutcome.PASSED, "2"],
      ["login", "ann@example.com", RatelimitOutcome.REFUSED, "2"],
      ["login", "b.c$d", RatelimitOutcome.PASSED, "1"],
    ]);
    const oneIdentifier = await outcomes(api, { namespace: "login", identifiers: ["b.c$d"], granularity: Granularity.HOUR });
    expect(oneIdentifier.map((bucket) => [bucket.time, bucket.total, bucket.passed])).toMatchObject([
      [{ seconds: String(Date.UTC(2026, 0, 15, 12) / 1000) }, "1", "1"],
    ]);
    const refused = await outcomes(api, { outcomes: [RatelimitOutcome.REFUSED], groupBy: [RatelimitGrouping.IDENTIFIER] });
    expect(refused.map((bucket) => [bucket.identifier, bucket.total])).toEqual([
      ["ann@example.com", "2"],
      ["b.c$d", "1"],
    ]);
  });

  it("counts identifiers beyond the workspace's budget of groups in one overflow bucket per namespace", async () => {
    const api = testApi(undefined, { analytics: { ...DEFAULT_VERIFICATION_OPTIONS.analytics, maxGroupsPerMinute: 3 } });
    await api.workspace();
    for (let i = 0; i < 10; i++) await api.ratelimits.limit(login(`user-${i}`));
    await api.ratelimits.limit(login("user-0"));
    await api.verification.analytics!.flush();
    const buckets = await outcomes(api, { groupBy: [RatelimitGrouping.IDENTIFIER], granularity: Granularity.MINUTE });
    expect(buckets.map((bucket) => [bucket.identifier, bucket.identifiersOverflowed ?? false, bucket.total])).toEqual([
      ["", true, "7"],
      ["user-0", false, "2"],
      ["user-1", false, "1"],
      ["user-2", false, "1"],
    ]);
    expect(await outcomes(api, {})).toMatchObject([{ total: "11", passed: "11" }]);
  });

  it("answers a workspace's own decisions only, and refuses a root key narrowed to keyspaces", async () => {
    const api = testApi();
    await api.workspace();
    await api.ratelimits.limit(login("ann@example.com"));
    const other = api.as((await api.newWorkspace("other")).secret);
    await other.ratelimits.limit(login("ann@example.com"));
    await other.ratelimits.limit(login("ann@example.com"));
    await api.verification.analytics!.flush();
    expect(await outcomes(api, { namespace: "login" })).toMatchObject([{ total: "1" }]);
    expect(await outcomes(other, { namespace: "login" })).toMatchObject([{ total: "2" }]);

    const { keyspace } = await api.keyspaces.createKeyspace({ keyspace: { name: "narrowed" } });
    const { secret } = await api.rootKeys.createRootKey({ rootKey: { name: "narrow", permissions: ["analytics.read"], keyspaceIds: [keyspace!.id] } });
    await expectCode(outcomes(api.as(secret), {}), Code.PermissionDenied, "this root key is narrowed to keyspaces");
  });
});
