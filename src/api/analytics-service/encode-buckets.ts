import type { Bucket } from "../../domain/analytics/query.js";
import type { Verdict } from "../../domain/verification.js";
import { CODES } from "../verify-service/verify-request.js";
import { verifyCodeNameOf } from "./convert.js";
import { integerSize, LENGTH_DELIMITED, stringSize, timestampBodySize, timestampOf, VARINT, varintSize, Writer } from "../../transport/wire-writer.js";

/**
 * A GetVerificationsResponse's wire bytes, written straight from the domain's buckets: the same
 * bytes protobuf-es's `toBinary` writes for the response `bucketToProto` makes of them (fields in
 * number order, map entries in insertion order with both key and value), which
 * test/api/analytics-service/encode-buckets.test.ts compares. A page holds up to 1,000 buckets:
 * making a VerificationBucket of each (reflective `create`, bigints, Timestamps) and encoding it
 * reflectively cost more than the query that counts them. Sizes are computed first, then every
 * byte is written once. Undefined for what this writer leaves to `toBinary`: a time before 1970,
 * a count that is negative, fractional or unsafe, an outcome that is no verdict.
 */
export function encodeVerificationsResponse(buckets: readonly Bucket[], nextPageToken: string): Uint8Array | undefined {
  const bodies = new Int32Array(buckets.length);
  let size = stringSize(nextPageToken);
  for (let i = 0; i < buckets.length; i++) {
    const body = bucketSize(buckets[i]!);
    if (body === undefined) return undefined;
    bodies[i] = body;
    size += 1 + varintSize(body) + body;
  }
  const out = new Writer(size);
  for (let i = 0; i < buckets.length; i++) {
    out.tag(1, LENGTH_DELIMITED).varint(bodies[i]!);
    writeBucket(out, buckets[i]!);
  }
  out.string(2, nextPageToken);
  return out.bytes;
}

const countable = (value: number) => Number.isSafeInteger(value) && value >= 0;

/** The VerifyCode names of `outcomes` keys, as UTF-8, made once per name. */
const outcomeNames = new Map<string, Buffer>();
function outcomeNameBytes(outcome: string) {
  let bytes = outcomeNames.get(outcome);
  if (!bytes) outcomeNames.set(outcome, (bytes = Buffer.from(verifyCodeNameOf(outcome))));
  return bytes;
}

const entrySize = (name: Buffer, count: number) => 1 + varintSize(name.length) + name.length + 1 + varintSize(count);

function bucketSize(bucket: Bucket): number | undefined {
  const ms = bucket.time.getTime();
  if (!countable(ms)) return undefined;
  if (bucket.outcome !== "" && CODES[bucket.outcome as Verdict] === undefined) return undefined;
  const time = timestampBodySize(timestampOf(ms));
  let size = 1 + varintSize(time) + time;
  size += stringSize(bucket.keyspaceId) + stringSize(bucket.keyId) + stringSize(bucket.externalId);
  size += integerSize(bucket.outcome === "" ? 0 : CODES[bucket.outcome as Verdict]) + stringSize(bucket.tag) + (bucket.tagsOverflowed ? 2 : 0);
  let total = 0;
  for (const outcome in bucket.outcomes) {
    const count = bucket.outcomes[outcome]!;
    if (!countable(count)) return undefined;
    total += count;
    const entry = entrySize(outcomeNameBytes(outcome), count);
    size += 1 + varintSize(entry) + entry;
  }
  if (!countable(total) || !countable(bucket.credits)) return undefined;
  return size + integerSize(total) + integerSize(bucket.outcomes.valid ?? 0) + integerSize(bucket.credits);
}

function writeBucket(out: Writer, bucket: Bucket) {
  out.timestamp(1, timestampOf(bucket.time.getTime()));
  out.string(2, bucket.keyspaceId).string(3, bucket.keyId).string(4, bucket.externalId);
  out.integer(5, bucket.outcome === "" ? 0 : CODES[bucket.outcome as Verdict]).string(6, bucket.tag);
  if (bucket.tagsOverflowed) out.tag(7, VARINT).varint(1);
  let total = 0;
  for (const outcome in bucket.outcomes) total += bucket.outcomes[outcome]!;
  out.integer(8, total).integer(9, bucket.outcomes.valid ?? 0);
  for (const outcome in bucket.outcomes) {
    const name = outcomeNameBytes(outcome);
    const count = bucket.outcomes[outcome]!;
    out.tag(10, LENGTH_DELIMITED).varint(entrySize(name, count));
    out.tag(1, LENGTH_DELIMITED).varint(name.length).raw(name);
    out.tag(2, VARINT).varint(count);
  }
  out.integer(11, bucket.credits);
}
