import { BSON, type Document } from "mongodb";
import type { Counts } from "../../domain/analytics/counts.js";

const OBJECT = 3;
const DOUBLE = 1;
const INT32 = 16;
const INT64 = 18;
const OUTCOMES = Buffer.from("outcomes");
const CREDITS = Buffer.from("credits");

/**
 * A stored `keys` document read from its BSON (a find with `raw: true`): its `keys` as a Map of
 * each key's counts, read here, and every other field through the driver's BSON. The driver would
 * make `keys` an object of up to 10,000 properties, each with two nested objects made through its
 * generic path, which cost as much as a page's rows, grouping and encoding together
 * (docs/analytics.md#cost). A `keys` holding anything but counts (numbers under `outcomes` and
 * `credits`) is read by the driver instead, whole, so what is read is always what was stored.
 */
export function keysDocumentOf(raw: Uint8Array): Document {
  const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  let at = 4;
  while (bytes[at] !== 0) {
    const type = bytes[at]!;
    const nameEnd = bytes.indexOf(0, at + 1);
    const value = nameEnd + 1;
    const end = value + elementSize(type, bytes, value);
    if (type === OBJECT && nameEnd - at - 1 === 4 && bytes.toString("latin1", at + 1, nameEnd) === "keys") {
      const keys = keyCountsIn(bytes, value);
      if (!keys) break;
      const rest = Buffer.concat([bytes.subarray(0, at), bytes.subarray(end)]);
      rest.writeInt32LE(rest.length, 0);
      return { ...BSON.deserialize(rest), keys };
    }
    at = end;
  }
  const document = BSON.deserialize(bytes);
  if (document.keys) document.keys = new Map(Object.entries(document.keys));
  return document;
}

/** The counts of a `keys` object starting at `start`, or undefined when it holds anything else. */
function keyCountsIn(bytes: Buffer, start: number): Map<string, Counts> | undefined {
  const keys = new Map<string, Counts>();
  const end = start + bytes.readInt32LE(start) - 1;
  for (let at = start + 4; at < end; ) {
    if (bytes[at] !== OBJECT) return undefined;
    const nameEnd = bytes.indexOf(0, at + 1);
    const field = bytes.toString("utf8", at + 1, nameEnd);
    const value = nameEnd + 1;
    const counts = countsIn(bytes, value);
    if (!counts) return undefined;
    keys.set(field, counts);
    at = value + bytes.readInt32LE(value);
  }
  return keys;
}

/** `{outcomes: {<outcome>: <count>, …}, credits: <count>}` starting at `start`, or undefined for anything else. */
function countsIn(bytes: Buffer, start: number): Counts | undefined {
  const counts: Counts = { outcomes: {}, credits: 0 };
  const end = start + bytes.readInt32LE(start) - 1;
  for (let at = start + 4; at < end; ) {
    const type = bytes[at]!;
    const nameEnd = bytes.indexOf(0, at + 1);
    const value = nameEnd + 1;
    if (type === OBJECT && isName(bytes, at + 1, nameEnd, OUTCOMES)) {
      const outcomesEnd = value + bytes.readInt32LE(value) - 1;
      for (let entry = value + 4; entry < outcomesEnd; ) {
        const entryType = bytes[entry]!;
        const entryNameEnd = bytes.indexOf(0, entry + 1);
        const count = numberAt(entryType, bytes, entryNameEnd + 1);
        if (count === undefined) return undefined;
        counts.outcomes[outcomeName(bytes, entry + 1, entryNameEnd)] = count;
        entry = entryNameEnd + 1 + elementSize(entryType, bytes, entryNameEnd + 1);
      }
    } else if (isName(bytes, at + 1, nameEnd, CREDITS)) {
      const credits = numberAt(type, bytes, value);
      if (credits === undefined) return undefined;
      counts.credits = credits;
    } else return undefined;
    at = value + elementSize(type, bytes, value);
  }
  return counts;
}

/** Whether the bytes from `start` to `end` are `name`'s: compared here, as names are short and a call into Buffer costs more. */
function isName(bytes: Buffer, start: number, end: number, name: Uint8Array) {
  if (end - start !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (bytes[start + i] !== name[i]) return false;
  return true;
}

/** Outcome names met so far, as bytes and as strings: a handful, each made into a string once. */
const outcomeNames: { bytes: Uint8Array; name: string }[] = [];
const MAX_OUTCOME_NAMES = 64;

function outcomeName(bytes: Buffer, start: number, end: number) {
  for (const known of outcomeNames) if (isName(bytes, start, end, known.bytes)) return known.name;
  const name = bytes.toString("utf8", start, end);
  if (outcomeNames.length < MAX_OUTCOME_NAMES) outcomeNames.push({ bytes: Uint8Array.from(bytes.subarray(start, end)), name });
  return name;
}

/** A number as the driver reads it; undefined for what it would not read as a number (a long beyond a safe integer, a decimal). */
function numberAt(type: number, bytes: Buffer, at: number): number | undefined {
  if (type === INT32) return bytes.readInt32LE(at);
  if (type === DOUBLE) return bytes.readDoubleLE(at);
  if (type === INT64) {
    const value = Number(bytes.readBigInt64LE(at));
    return Number.isSafeInteger(value) ? value : undefined;
  }
  return undefined;
}

/** The size of an element's value of this BSON type, starting at `at`. */
function elementSize(type: number, bytes: Buffer, at: number): number {
  switch (type) {
    case 1: // double
    case 9: // date
    case 17: // timestamp
    case 18: // int64
      return 8;
    case 16: // int32
      return 4;
    case 8: // boolean
      return 1;
    case 6: // undefined
    case 10: // null
    case 127: // max key
    case 255: // min key
      return 0;
    case 7: // object id
      return 12;
    case 19: // decimal128
      return 16;
    case 2: // string
    case 13: // code
    case 14: // symbol
      return 4 + bytes.readInt32LE(at);
    case 3: // object
    case 4: // array
    case 15: // code with scope
      return bytes.readInt32LE(at);
    case 5: // binary
      return 5 + bytes.readInt32LE(at);
    case 12: // DB pointer
      return 16 + bytes.readInt32LE(at);
    case 11: {
      // regular expression: two C strings
      const patternEnd = bytes.indexOf(0, at);
      return bytes.indexOf(0, patternEnd + 1) + 1 - at;
    }
    default:
      throw new Error(`unknown BSON type ${type}`);
  }
}
