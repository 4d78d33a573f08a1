import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { type GetRatelimitOutcomesRequest, type GetRatelimitOutcomesResponseSchema, RatelimitGrouping } from "../../../gen/latchkey/v1/analytics_pb.js";
import { beyondKeyspaces } from "../../domain/access.js";
import type { AnalyticsQuery, Grouping } from "../../domain/analytics/query.js";
import { RATELIMIT_SOURCE } from "../../domain/analytics/counts.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import { limitBucketToProto, listed, outcomeNameOf, pageOf, rangeOf } from "./convert.js";

/** Namespaces stand where keyspaces do in the counts, identifiers where keys do. */
const GROUPINGS: Record<Exclude<RatelimitGrouping, RatelimitGrouping.UNSPECIFIED>, Grouping> = {
  [RatelimitGrouping.NAMESPACE]: "keyspace",
  [RatelimitGrouping.IDENTIFIER]: "key",
  [RatelimitGrouping.OUTCOME]: "outcome",
};

/** Counts of the caller's workspace only; namespaces are workspace-wide, so a narrowed root key sees none. */
export const getRatelimitOutcomes =
  ({ store, now }: ServiceDeps) =>
  async (request: GetRatelimitOutcomesRequest, context: HandlerContext): Promise<MessageInitShape<typeof GetRatelimitOutcomesResponseSchema>> => {
    const caller = callerIn(context);
    if (caller.keyspaceIds) throw beyondKeyspaces("read rate-limit outcomes of namespaces that belong to the whole workspace");
    const groupBy = new Set(request.groupBy.map((grouping) => GROUPINGS[grouping as Exclude<RatelimitGrouping, RatelimitGrouping.UNSPECIFIED>]));
    const query: AnalyticsQuery = {
      source: RATELIMIT_SOURCE,
      workspaceId: caller.workspaceId,
      keyspaceIds: request.namespace ? [request.namespace] : undefined,
      keyIds: listed(request.identifiers),
      outcomes: listed(request.outcomes.map(outcomeNameOf)),
      creditsOutcome: "passed",
      groupBy,
      ...rangeOf(request, now()),
    };
    const { buckets, nextPageToken } = await pageOf(store, query, request);
    return { buckets: buckets.map((bucket) => limitBucketToProto(bucket, groupBy.has("key"))), nextPageToken };
  };
