import type { VerificationBucket } from "../../../gen/latchkey/v1/analytics_pb.js";

/**
 * A GetVerificationsResponse's wire bytes, the same as protobuf-es's `toBinary` writes them (fields
 * in number order, map entries in insertion order with both key and value):
 * test/api/analytics-service/encode-buckets.test.ts compares the two. A page holds up to 1,000
 * buckets, and the reflective `toBinary` spends more on them than the query that counts them;
 * sizes are computed first, then every byte is written once. Undefined for a value this
 * writer leaves to `toBinary`: a negative or unsafe integer.
 */
export function encodeVerificationsResponse(buckets: readonly VerificationBucket[], nextPageToken: string): Uint8Array | undefined {
  const bodies: number[] = [];
  let size = stringSize(nextPageToken);
  for (const bucket of buckets) {
    const body = bucketSize(bucket);
    if (body === undefined) return undefined;
    bodies.push(body);
    size += 1 + varintSize(body) + body;
  }
  const out = new Writer(size);
  buckets.forEach((bucket, i) => {
    out.tag(1, LENGTH_DELIMITED).varint(bodies[i]!);
    writeBucket(out, bucket);
  });
  out.string(2, nextPageToken);
  return out.bytes;
}

const VARINT = 0;
const LENGTH_DELIMITED = 2;

function varintSize(value: number) {
  let size = 1;
  for (let rest = value; rest >= 128; rest = Math.floor(rest / 128)) size++;
  return size;
}

const stringSize = (value: string) => {
  const length = Buffer.byteLength(value);
  return length === 0 ? 0 : 1 + varintSize(length) + length;
};

/** A non-negative safe integer as a number; undefined otherwise. */
function safe(value: bigint | number): number | undefined {
  const number = Number(value);
  return Number.isSafeInteger(number) && number >= 0 ? number : undefined;
}

const integerSize = (value: number) => (value === 0 ? 0 : 1 + varintSize(value));

function timeOf(bucket: VerificationBucket) {
  if (!bucket.time) return undefined;
  const seconds = safe(bucket.time.seconds);
  const nanos = safe(bucket.time.nanos);
  if (seconds === undefined || nanos === undefined) return undefined;
  return { seconds, nanos, size: integerSize(seconds) + integerSize(nanos) };
}

function entrySize(outcome: string, count: number) {
  const length = Buffer.byteLength(outcome);
  return 1 + varintSize(length) + length + 1 + varintSize(count);
}

function bucketSize(bucket: VerificationBucket): number | undefined {
  const time = timeOf(bucket);
  if (bucket.time && !time) return undefined;
  const integers = [bucket.total, bucket.valid, bucket.creditsSpent, ...Object.values(bucket.outcomes)].map(safe);
  if (integers.includes(undefined) || bucket.outcome < 0) return undefined;
  let size = time ? 1 + varintSize(time.size) + time.size : 0;
  size += stringSize(bucket.keyspaceId) + stringSize(bucket.keyId) + stringSize(bucket.externalId) + integerSize(bucket.outcome);
  size += stringSize(bucket.tag) + (bucket.tagsOverflowed ? 2 : 0);
  size += integerSize(safe(bucket.total)!) + integerSize(safe(bucket.valid)!) + integerSize(safe(bucket.creditsSpent)!);
  for (const [outcome, count] of Object.entries(bucket.outcomes)) {
    const entry = entrySize(outcome, safe(count)!);
    size += 1 + varintSize(entry) + entry;
  }
  return size;
}

function writeBucket(out: Writer, bucket: VerificationBucket) {
  const time = timeOf(bucket);
  if (time) {
    out.tag(1, LENGTH_DELIMITED).varint(time.size);
    out.integer(1, time.seconds).integer(2, time.nanos);
  }
  out.string(2, bucket.keyspaceId).string(3, bucket.keyId).string(4, bucket.externalId).integer(5, bucket.outcome).string(6, bucket.tag);
  if (bucket.tagsOverflowed) out.tag(7, VARINT).varint(1);
  out.integer(8, safe(bucket.total)!).integer(9, safe(bucket.valid)!);
  for (const [outcome, count] of Object.entries(bucket.outcomes)) {
    const value = safe(count)!;
    out.tag(10, LENGTH_DELIMITED).varint(entrySize(outcome, value));
    out.tag(1, LENGTH_DELIMITED).varint(Buffer.byteLength(outcome)).text(outcome);
    out.tag(2, VARINT).varint(value);
  }
  out.integer(11, safe(bucket.creditsSpent)!);
}

class Writer {
  readonly bytes: Buffer;
  private at = 0;

  constructor(size: number) {
    this.bytes = Buffer.allocUnsafe(size);
  }

  tag(field: number, wireType: number) {
    return this.varint((field << 3) | wireType);
  }

  varint(value: number) {
    let rest = value;
    while (rest >= 128) {
      this.bytes[this.at++] = (rest % 128) | 128;
      rest = Math.floor(rest / 128);
    }
    this.bytes[this.at++] = rest;
    return this;
  }

  text(value: string) {
    this.at += this.bytes.write(value, this.at, "utf8");
    return this;
  }

  /** A string field, left out when empty, as proto3 does. */
  string(field: number, value: string) {
    if (value === "") return this;
    return this.tag(field, LENGTH_DELIMITED).varint(Buffer.byteLength(value)).text(value);
  }

  /** An integer field, left out when zero. */
  integer(field: number, value: number) {
    if (value === 0) return this;
    return this.tag(field, VARINT).varint(value);
  }
}
