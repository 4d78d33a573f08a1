import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { type GetVerificationsRequest, GetVerificationsResponseSchema, type VerificationGrouping } from "../../../gen/latchkey/v1/analytics_pb.js";
import { reachesKeyspace } from "../../domain/access.js";
import type { AnalyticsQuery } from "../../domain/analytics/query.js";
import { notFound } from "../../domain/errors.js";
import { VERIFICATION_SOURCE } from "../../domain/analytics/counts.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import { requireId } from "../requests.js";
import { withEncodingAndLazyField } from "../../transport/encoding.js";
import { bucketToProto, GROUPING_NAMES, listed, pageOf, rangeOf, verdictOf } from "./convert.js";
import { encodeVerificationsResponse } from "./encode-buckets.js";

/**
 * Counts of the caller's workspace only, and of a narrowed root key's keyspaces only: a keyspace
 * beyond them is NOT_FOUND, as everywhere; ids of other workspaces match nothing.
 */
export const getVerifications =
  ({ store, now }: ServiceDeps) =>
  async (request: GetVerificationsRequest, context: HandlerContext): Promise<MessageInitShape<typeof GetVerificationsResponseSchema>> => {
    const caller = callerIn(context);
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
      ...rangeOf(request, now()),
    };
    const page = await pageOf(store, query, request);
    const response = create(GetVerificationsResponseSchema, { nextPageToken: page.nextPageToken });
    const buckets = () => page.buckets.map(bucketToProto);
    const bytes = encodeVerificationsResponse(page.buckets, page.nextPageToken);
    if (bytes) return withEncodingAndLazyField(response, "buckets", buckets, bytes);
    response.buckets = buckets();
    return response;
  };
