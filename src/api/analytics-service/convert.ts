import { create } from "@bufbuild/protobuf";
import { type Timestamp, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  Granularity,
  RatelimitOutcome,
  type RatelimitOutcomeBucket,
  RatelimitOutcomeBucketSchema,
  RatelimitOutcomeSchema,
  VerificationBucketSchema,
  VerificationGrouping,
  type VerificationBucket,
} from "../../../gen/latchkey/v1/analytics_pb.js";
import { VerifyCode, VerifyCodeSchema } from "../../../gen/latchkey/v1/verify_pb.js";
import { checkRange, type Granularity as GranularityName } from "../../domain/analytics/buckets.js";
import { type OutcomeCounts, totalOf } from "../../domain/analytics/counts.js";
import { pageOfBuckets } from "../../domain/analytics/pages.js";
import type { AnalyticsQuery, Bucket, Grouping, PageCursor } from "../../domain/analytics/query.js";
import { rowsOf } from "../../domain/analytics/rows.js";
import { invalidArgument } from "../../domain/errors.js";
import type { Store } from "../../store/store.js";
import { toDate } from "../mapping/scalars.js";
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
const CODE_NAMES = new Map(Object.entries(CODES).map(([verdict, code]) => [verdict, VerifyCodeSchema.values.find((value) => value.number === code)!.name]));

/** The key of an outcome's count in a bucket's `outcomes`. */
export const verifyCodeNameOf = (outcome: string) => CODE_NAMES.get(outcome) ?? outcome;

export function outcomesToProto(outcomes: OutcomeCounts) {
  const named: Record<string, bigint> = {};
  for (const [outcome, count] of Object.entries(outcomes)) named[verifyCodeNameOf(outcome)] = BigInt(count);
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

/** Rate-limit outcomes as counted (analytics-recorder.ts) and as clients name them. */
const LIMIT_OUTCOMES: Record<Exclude<RatelimitOutcome, RatelimitOutcome.UNSPECIFIED>, string> = {
  [RatelimitOutcome.PASSED]: "passed",
  [RatelimitOutcome.REFUSED]: "refused",
};
const LIMIT_OUTCOME_CODES = new Map(Object.entries(LIMIT_OUTCOMES).map(([code, name]) => [name, Number(code) as RatelimitOutcome]));

/** The outcome a RatelimitOutcome stands for; the proto's rules have ruled out UNSPECIFIED. */
export const outcomeNameOf = (outcome: RatelimitOutcome) => LIMIT_OUTCOMES[outcome as Exclude<RatelimitOutcome, RatelimitOutcome.UNSPECIFIED>];

/** A bucket of rate-limit decisions: the namespace counted where the keyspace is, the identifier where the key is. */
export function limitBucketToProto(bucket: Bucket, byIdentifier: boolean): RatelimitOutcomeBucket {
  const outcomes: Record<string, bigint> = {};
  for (const [outcome, count] of Object.entries(bucket.outcomes)) {
    outcomes[RatelimitOutcomeSchema.values.find((value) => value.number === LIMIT_OUTCOME_CODES.get(outcome))!.name] = BigInt(count);
  }
  return create(RatelimitOutcomeBucketSchema, {
    time: timestampFromDate(bucket.time),
    namespace: bucket.keyspaceId,
    identifier: bucket.keyId,
    outcome: bucket.outcome ? LIMIT_OUTCOME_CODES.get(bucket.outcome) : RatelimitOutcome.UNSPECIFIED,
    // Identifiers are never empty: a bucket grouped by identifier without one counts the overflow.
    identifiersOverflowed: byIdentifier && bucket.keyId === "",
    total: BigInt(totalOf(bucket.outcomes)),
    passed: BigInt(bucket.outcomes.passed ?? 0),
    refused: BigInt(bucket.outcomes.refused ?? 0),
    outcomes,
  });
}

export const DEFAULT_BUCKETS_PER_PAGE = 100;
export const MAX_BUCKETS_PER_PAGE = 1000;

/** An empty list filters nothing. */
export const listed = <T>(values: T[]): T[] | undefined => (values.length > 0 ? values : undefined);

/** A request's granularity and range, checked; an unset end is just after now, so what was counted at this very millisecond is in it. */
export function rangeOf(request: { granularity: Granularity; startTime?: Timestamp; endTime?: Timestamp }, now: number) {
  const granularity = GRANULARITY_NAMES[request.granularity as Exclude<Granularity, Granularity.UNSPECIFIED>];
  const from = toDate(request.startTime, "start_time")!;
  const to = toDate(request.endTime, "end_time") ?? new Date(now + 1);
  if (!request.endTime && to <= from) throw invalidArgument("start_time", "must be in the past when end_time is unset");
  checkRange(granularity, from, to);
  return { granularity, from, to };
}

/** One page of a query's buckets, after the request's page token. */
export async function pageOf(store: Store, query: AnalyticsQuery, request: { pageSize: number; pageToken: string }) {
  const pageSize = request.pageSize === 0 ? DEFAULT_BUCKETS_PER_PAGE : Math.min(request.pageSize, MAX_BUCKETS_PER_PAGE);
  const after = cursorOf(request.pageToken);
  const { buckets, next } = await pageOfBuckets(
    rowsOf((filter) => store.analytics.documents(filter), query, after),
    query,
    pageSize,
    after,
  );
  return { buckets, nextPageToken: pageTokenOf(next) };
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
  // A time no Date can hold was never a bucket's, and would query as an invalid date.
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    !Number.isSafeInteger(parsed[0]) ||
    Number.isNaN(new Date(parsed[0]).getTime()) ||
    typeof parsed[1] !== "string"
  ) {
    throw invalidArgument("page_token", "is not a token this listing returned");
  }
  return { time: parsed[0], group: parsed[1] };
}
