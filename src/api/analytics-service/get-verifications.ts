import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import {
  type GetVerificationsRequest,
  GetVerificationsRequestSchema,
  GetVerificationsResponseSchema,
  type VerificationGrouping,
} from "../../../gen/latchkey/v1/analytics_pb.js";
import { type Caller, reachesKeyspace } from "../../domain/access.js";
import { isFinal } from "../../domain/analytics/buckets.js";
import type { AnalyticsQuery, Bucket } from "../../domain/analytics/query.js";
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
  ({ store, now, verificationPages: readahead }: ServiceDeps) =>
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
    const requestKey = (pageToken: string) => readaheadKey(caller, { ...request, pageToken });
    const answerOf = async (pageRequest: { pageSize: number; pageToken: string }): Promise<VerificationsPage> => {
      const page = await pageOf(store, query, pageRequest);
      return { response: responseOf(page), nextPageToken: page.nextPageToken, last: page.buckets.at(-1) };
    };
    const answer = (await readahead.take(requestKey(request.pageToken))) ?? (await answerOf(request));
    const { nextPageToken, last } = answer;
    // Only final counts are read ahead, so that a page read ahead is what its request would read; a
    // page after one that is not final holds none.
    const final = (bucket: Bucket | undefined, at: number) => bucket !== undefined && isFinal(query.granularity, bucket.time.getTime(), at);
    if (nextPageToken && final(last, now())) {
      readahead.readAhead(caller.workspaceId, requestKey(nextPageToken), async () => {
        const readAt = now();
        const next = await answerOf({ pageSize: request.pageSize, pageToken: nextPageToken });
        return final(next.last, readAt) ? next : undefined;
      });
    }
    return answer.response;
  };

/** A page of GetVerifications, answered or read ahead. */
export interface VerificationsPage {
  response: MessageInitShape<typeof GetVerificationsResponseSchema>;
  nextPageToken: string;
  /** The page's last bucket, the latest: the page is final when it is. */
  last?: Bucket;
}

/** The request as its caller's scope and its bytes: a page read ahead answers only the same request of the same scope. */
const readaheadKey = (caller: Caller, request: MessageInitShape<typeof GetVerificationsRequestSchema>) =>
  `${caller.workspaceId} ${caller.keyspaceIds ? [...caller.keyspaceIds].sort().join(",") : "*"} ${Buffer.from(toBinary(GetVerificationsRequestSchema, create(GetVerificationsRequestSchema, request))).toString("base64")}`;

function responseOf(page: { buckets: Bucket[]; nextPageToken: string }): MessageInitShape<typeof GetVerificationsResponseSchema> {
  const response = create(GetVerificationsResponseSchema, { nextPageToken: page.nextPageToken });
  const buckets = () => page.buckets.map(bucketToProto);
  const bytes = encodeVerificationsResponse(page.buckets, page.nextPageToken);
  if (bytes) return withEncodingAndLazyField(response, "buckets", buckets, bytes);
  response.buckets = buckets();
  return response;
}
