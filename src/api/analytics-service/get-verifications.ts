import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { Granularity, GetVerificationsRequest, GetVerificationsResponseSchema, VerificationGrouping } from "../../../gen/latchkey/v1/analytics_pb.js";
import { reachesKeyspace } from "../../domain/access.js";
import { type AnalyticsQuery, checkRange, pageOfBuckets, rowsOf } from "../../domain/analytics.js";
import { notFound } from "../../domain/errors.js";
import { VERIFICATION_SOURCE } from "../../verify/analytics-recorder.js";
import { toDate } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../pipeline.js";
import { requireId } from "../requests.js";
import { bucketToProto, cursorOf, GRANULARITY_NAMES, GROUPING_NAMES, pageTokenOf, verdictOf } from "./convert.js";

export const DEFAULT_BUCKETS_PER_PAGE = 100;
export const MAX_BUCKETS_PER_PAGE = 1000;

/**
 * Counts of the caller's workspace only, and of a narrowed root key's keyspaces only: a keyspace
 * beyond them is NOT_FOUND, as everywhere; ids of other workspaces match nothing.
 */
export const getVerifications =
  ({ store, now }: ServiceDeps) =>
  async (request: GetVerificationsRequest, context: HandlerContext): Promise<MessageInitShape<typeof GetVerificationsResponseSchema>> => {
    const caller = callerIn(context);
    const granularity = GRANULARITY_NAMES[request.granularity as Exclude<Granularity, Granularity.UNSPECIFIED>];
    const from = toDate(request.startTime, "start_time")!;
    // Unset, the range ends just after now: what was counted at this very millisecond is in it.
    const to = toDate(request.endTime, "end_time") ?? new Date(now() + 1);
    checkRange(granularity, from, to);
    let keyspaceIds = caller.keyspaceIds && [...caller.keyspaceIds];
    if (request.keyspaceId) {
      const keyspaceId = requireId("ks", request.keyspaceId, "keyspace_id");
      if (!reachesKeyspace(caller, keyspaceId)) throw notFound("keyspace", keyspaceId);
      keyspaceIds = [keyspaceId];
    }
    const query: AnalyticsQuery = {
      source: VERIFICATION_SOURCE,
      workspaceId: caller.workspaceId,
      keyspaceIds,
      keyIds: listed(request.keyIds.map((id, i) => requireId("key", id, `key_ids[${i}]`))),
      externalIds: listed(request.externalIds),
      tags: listed(request.tags),
      outcomes: listed(request.outcomes.map(verdictOf)),
      creditsOutcome: "valid",
      groupBy: new Set(request.groupBy.map((grouping) => GROUPING_NAMES[grouping as Exclude<VerificationGrouping, VerificationGrouping.UNSPECIFIED>])),
      granularity,
      from,
      to,
    };
    const pageSize = request.pageSize === 0 ? DEFAULT_BUCKETS_PER_PAGE : Math.min(request.pageSize, MAX_BUCKETS_PER_PAGE);
    const after = cursorOf(request.pageToken);
    const { buckets, next } = await pageOfBuckets(rowsOf((filter) => store.analytics.documents(filter), query, after), query, pageSize, after);
    return { buckets: buckets.map(bucketToProto), nextPageToken: pageTokenOf(next) };
  };

/** An empty list filters nothing. */
const listed = <T>(values: T[]): T[] | undefined => (values.length > 0 ? values : undefined);
