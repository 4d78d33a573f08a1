import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { HandlerContext } from "@connectrpc/connect";
import type { GetKeyUsageRequest, GetKeyUsageResponseSchema } from "../../../gen/latchkey/v1/analytics_pb.js";
import { bucketStart, nextBucket } from "../../domain/analytics/buckets.js";
import { addCounts, VERIFICATION_SOURCE } from "../../domain/analytics/counts.js";
import { pageOfBuckets } from "../../domain/analytics/pages.js";
import type { AnalyticsQuery } from "../../domain/analytics/query.js";
import { rowsOf } from "../../domain/analytics/rows.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import { loadLiveKey, requireId } from "../requests.js";
import { bucketToProto, outcomesToProto } from "./convert.js";

export const KEY_USAGE_DAYS = 30;

/**
 * A key's usage over the 30 UTC days ending with today, from its keyspace's day documents: 30 read,
 * and for a day whose keyspace document ran out of key entries, the key's documents of that day.
 */
export const getKeyUsage =
  ({ store, now }: ServiceDeps) =>
  async (request: GetKeyUsageRequest, context: HandlerContext): Promise<MessageInitShape<typeof GetKeyUsageResponseSchema>> => {
    const key = await loadLiveKey(store, callerIn(context), requireId("key", request.keyId, "key_id"), { softDeleted: true });
    const today = bucketStart("day", now());
    const from = today - (KEY_USAGE_DAYS - 1) * 86_400_000;
    const query: AnalyticsQuery = {
      source: VERIFICATION_SOURCE,
      workspaceId: key.workspaceId,
      keyspaceIds: [key.keyspaceId],
      keyIds: [key.id],
      creditsOutcome: "valid",
      groupBy: new Set(),
      granularity: "day",
      from: new Date(from),
      to: new Date(nextBucket("day", today)),
    };
    const { buckets } = await pageOfBuckets(
      rowsOf((filter) => store.analytics.documents(filter), query),
      query,
      KEY_USAGE_DAYS,
    );
    const sum = { outcomes: {}, credits: 0 };
    for (const bucket of buckets) addCounts(sum, bucket);
    return {
      keyId: key.id,
      startTime: timestampFromMs(from),
      ...outcomesToProto(sum.outcomes),
      creditsSpent: BigInt(sum.credits),
      days: buckets.map(bucketToProto),
    };
  };
