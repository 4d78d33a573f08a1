import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Granularity, VerificationBucketSchema, VerificationGrouping, type VerificationBucket } from "../../../gen/latchkey/v1/analytics_pb.js";
import { VerifyCode, VerifyCodeSchema } from "../../../gen/latchkey/v1/verify_pb.js";
import { type Bucket, type Granularity as GranularityName, type Grouping, type OutcomeCounts, type PageCursor, totalOf } from "../../domain/analytics.js";
import { invalidArgument } from "../../domain/errors.js";
import type { Verdict } from "../../domain/verification.js";
import { CODES } from "../verify-service/verify-request.js";

export const GRANULARITY_NAMES: Record<Exclude<Granularity, Granularity.UNSPECIFIED>, GranularityName> = {
  [Granularity.MINUTE]: "minute",
  [Granularity.HOUR]: "hour",
  [Granularity.DAY]: "day",
  [Granularity.MONTH]: "month",
};

export const GROUPING_NAMES: Record<Exclude<VerificationGrouping, VerificationGrouping.UNSPECIFIED>, Grouping> = {
  [VerificationGrouping.KEY]: "key",
  [VerificationGrouping.IDENTITY]: "identity",
  [VerificationGrouping.OUTCOME]: "outcome",
  [VerificationGrouping.TAG]: "tag",
  [VerificationGrouping.KEYSPACE]: "keyspace",
};

const VERDICTS = new Map(Object.entries(CODES).map(([verdict, code]) => [code, verdict as Verdict]));

/** The verdict a VerifyCode stands for; the proto's rules have ruled out UNSPECIFIED. */
export const verdictOf = (code: VerifyCode): Verdict => VERDICTS.get(code)!;

/** `VERIFY_CODE_RATE_LIMITED` for `rate_limited`: the names clients see in `outcomes`. */
const CODE_NAMES = new Map(
  Object.entries(CODES).map(([verdict, code]) => [verdict, VerifyCodeSchema.values.find((value) => value.number === code)!.name]),
);

export function outcomesToProto(outcomes: OutcomeCounts) {
  const named: Record<string, bigint> = {};
  for (const [outcome, count] of Object.entries(outcomes)) named[CODE_NAMES.get(outcome) ?? outcome] = BigInt(count);
  return { total: BigInt(totalOf(outcomes)), valid: BigInt(outcomes.valid ?? 0), outcomes: named };
}

export function bucketToProto(bucket: Bucket): VerificationBucket {
  return create(VerificationBucketSchema, {
    time: timestampFromDate(bucket.time),
    keyspaceId: bucket.keyspaceId,
    keyId: bucket.keyId,
    externalId: bucket.externalId,
    outcome: bucket.outcome ? CODES[bucket.outcome as Verdict] : VerifyCode.UNSPECIFIED,
    tag: bucket.tag,
    tagsOverflowed: bucket.tagsOverflowed,
    ...outcomesToProto(bucket.outcomes),
    creditsSpent: BigInt(bucket.credits),
  });
}

/** Page tokens hold the last bucket served, its time and group; opaque to callers. */
export const pageTokenOf = (cursor: PageCursor | undefined) => (cursor ? Buffer.from(JSON.stringify([cursor.time, cursor.group])).toString("base64url") : "");

export function cursorOf(token: string): PageCursor | undefined {
  if (!token) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || !Number.isSafeInteger(parsed[0]) || typeof parsed[1] !== "string") {
    throw invalidArgument("page_token", "is not a token this listing returned");
  }
  return { time: parsed[0], group: parsed[1] };
}
