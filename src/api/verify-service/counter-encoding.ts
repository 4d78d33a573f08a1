import type { LimitOutcome } from "../../domain/fixed-window.js";
import { integerSize, LENGTH_DELIMITED, timestampBodySize, timestampOf, VARINT, varintSize, Writer } from "../../transport/wire-writer.js";

/**
 * Writes a verification's counters straight from the numbers the verifier holds: an int64
 * `credits_remaining` and repeated `RateLimitResult`s, appended to the answer's steady bytes
 * (protobuf allows a message to be written as its fields one after another, in any order). The
 * bytes are what `toBinary` writes for the same fields: each in field-number order, defaults
 * left out, a set `reset_at` always.
 */
export function appendCounters(
  steady: Uint8Array,
  creditsField: number,
  creditsRemaining: number | undefined,
  rateLimitsField: number,
  rateLimits: readonly LimitOutcome[],
): Uint8Array {
  // Each result's size is worked out twice, for the total and as it is written, rather than kept:
  // arrays of names and sizes made on every call cost more than the arithmetic.
  let size = steady.length;
  if (creditsRemaining !== undefined) size += varintSize(creditsField << 3) + varintSize(creditsRemaining);
  for (const outcome of rateLimits) {
    const resultBytes = resultSize(outcome, nameBytes(outcome.name));
    size += varintSize(rateLimitsField << 3) + varintSize(resultBytes) + resultBytes;
  }

  const out = new Writer(size).raw(steady);
  if (creditsRemaining !== undefined) out.tag(creditsField, VARINT).varint(creditsRemaining);
  for (const outcome of rateLimits) {
    const name = nameBytes(outcome.name);
    out.tag(rateLimitsField, LENGTH_DELIMITED).varint(resultSize(outcome, name));
    if (name.length > 0) out.tag(1, LENGTH_DELIMITED).varint(name.length).raw(name);
    out.integer(2, outcome.limit).integer(3, outcome.remaining).timestamp(4, timestampOf(outcome.resetAt));
    if (outcome.exceeded) out.tag(5, VARINT).varint(1);
  }
  return out.bytes;
}

function resultSize({ limit, remaining, resetAt, exceeded }: LimitOutcome, name: Uint8Array): number {
  const timestamp = timestampBodySize(timestampOf(resetAt));
  let size = 1 + varintSize(timestamp) + timestamp + integerSize(limit) + integerSize(remaining);
  if (name.length > 0) size += 1 + varintSize(name.length) + name.length;
  if (exceeded) size += 2;
  return size;
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
