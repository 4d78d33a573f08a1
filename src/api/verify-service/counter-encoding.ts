import type { LimitOutcome } from "../../domain/fixed-window.js";

/**
 * Writes a verification's counters straight from the numbers the verifier holds: an int64
 * `credits_remaining` and repeated `RateLimitResult`s, appended to the answer's steady bytes
 * (protobuf allows a message to be written as its fields one after another, in any order). The
 * bytes are what `toBinary` writes for the same fields: each in field-number order, defaults
 * left out, a set `reset_at` always. Sizes are counted first, so the answer is one allocation,
 * a Buffer from Node's pool (every byte of it is written), as grpc-js sends it.
 */
export function appendCounters(
  steady: Uint8Array,
  creditsField: number,
  creditsRemaining: number | undefined,
  rateLimitsField: number,
  rateLimits: readonly LimitOutcome[],
): Uint8Array {
  const names = rateLimits.map((outcome) => nameBytes(outcome.name));
  const sizes = rateLimits.map((outcome, i) => resultSize(outcome, names[i]!));
  let size = steady.length;
  if (creditsRemaining !== undefined) size += tagSize(creditsField) + varintSize(creditsRemaining);
  for (const resultBytes of sizes) size += tagSize(rateLimitsField) + varintSize(resultBytes) + resultBytes;

  const bytes = Buffer.allocUnsafe(size);
  bytes.set(steady);
  let at = steady.length;
  if (creditsRemaining !== undefined) at = writeVarint(bytes, writeTag(bytes, at, creditsField, VARINT), creditsRemaining);
  rateLimits.forEach((outcome, i) => {
    at = writeVarint(bytes, writeTag(bytes, at, rateLimitsField, LENGTH_DELIMITED), sizes[i]!);
    at = writeResult(bytes, at, outcome, names[i]!);
  });
  return bytes;
}

const VARINT = 0;
const LENGTH_DELIMITED = 2;

/** `reset_at` as timestampFromMs makes it of the milliseconds. */
const resetSeconds = (resetAt: number) => Math.floor(resetAt / 1000);
const resetNanos = (resetAt: number) => (resetAt - resetSeconds(resetAt) * 1000) * 1_000_000;

function resultSize({ limit, remaining, resetAt, exceeded }: LimitOutcome, name: Uint8Array): number {
  let size = timestampSize(resetAt);
  size += 1 + varintSize(size);
  if (name.length > 0) size += 1 + varintSize(name.length) + name.length;
  if (limit !== 0) size += 1 + varintSize(limit);
  if (remaining !== 0) size += 1 + varintSize(remaining);
  if (exceeded) size += 2;
  return size;
}

function timestampSize(resetAt: number): number {
  const seconds = resetSeconds(resetAt);
  const nanos = resetNanos(resetAt);
  return (seconds !== 0 ? 1 + varintSize(seconds) : 0) + (nanos !== 0 ? 1 + varintSize(nanos) : 0);
}

function writeResult(bytes: Uint8Array, start: number, { limit, remaining, resetAt, exceeded }: LimitOutcome, name: Uint8Array): number {
  let at = start;
  if (name.length > 0) {
    at = writeVarint(bytes, writeTag(bytes, at, 1, LENGTH_DELIMITED), name.length);
    bytes.set(name, at);
    at += name.length;
  }
  if (limit !== 0) at = writeVarint(bytes, writeTag(bytes, at, 2, VARINT), limit);
  if (remaining !== 0) at = writeVarint(bytes, writeTag(bytes, at, 3, VARINT), remaining);
  at = writeVarint(bytes, writeTag(bytes, at, 4, LENGTH_DELIMITED), timestampSize(resetAt));
  const seconds = resetSeconds(resetAt);
  const nanos = resetNanos(resetAt);
  if (seconds !== 0) at = writeVarint(bytes, writeTag(bytes, at, 1, VARINT), seconds);
  if (nanos !== 0) at = writeVarint(bytes, writeTag(bytes, at, 2, VARINT), nanos);
  if (exceeded) at = writeVarint(bytes, writeTag(bytes, at, 5, VARINT), 1);
  return at;
}

/** Limit names are few and repeat on every call: each is encoded once. */
const encodedNames = new Map<string, Uint8Array>();
const MAX_ENCODED_NAMES = 1000;
const utf8 = new TextEncoder();

function nameBytes(name: string): Uint8Array {
  let bytes = encodedNames.get(name);
  if (!bytes) {
    bytes = utf8.encode(name);
    if (encodedNames.size >= MAX_ENCODED_NAMES) encodedNames.clear();
    encodedNames.set(name, bytes);
  }
  return bytes;
}

const tagSize = (field: number) => varintSize(field << 3);
const writeTag = (bytes: Uint8Array, at: number, field: number, wireType: number) => writeVarint(bytes, at, (field << 3) | wireType);

/**
 * A negative int64 or int32 is written as its 64-bit two's complement: ten bytes. Counters are
 * whole numbers; anything else is refused, as protobuf-es refuses it, rather than written wrong.
 */
function varintSize(value: number): number {
  if (!Number.isSafeInteger(value)) throw new RangeError(`a counter of ${value} is not a safe integer`);
  if (value < 0) return 10;
  let size = 1;
  for (let rest = value; rest >= 128; rest = Math.floor(rest / 128)) size++;
  return size;
}

function writeVarint(bytes: Uint8Array, start: number, value: number): number {
  let at = start;
  if (value < 0) {
    let rest = BigInt.asUintN(64, BigInt(value));
    for (; rest >= 128n; rest >>= 7n) bytes[at++] = Number(rest & 127n) | 128;
    bytes[at++] = Number(rest);
    return at;
  }
  let rest = value;
  for (; rest >= 128; rest = Math.floor(rest / 128)) bytes[at++] = (rest % 128) | 128;
  bytes[at++] = rest;
  return at;
}
