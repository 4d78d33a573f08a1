import { timestampDate, timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { invalidArgument } from "../../domain/errors.js";

/** Wire times and enums as domain values and back; a value the domain cannot hold is refused, naming its field. */

export const inverse = <K extends string, V extends number>(map: Record<K, V>) => new Map(Object.entries(map).map(([name, value]) => [value as V, name as K]));

export const toTimestamp = (date: Date | null) => (date ? timestampFromDate(date) : undefined);
/** Seconds of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range a Timestamp may hold. */
const MIN_SECONDS = -62_135_596_800n;
const MAX_SECONDS = 253_402_300_799n;

/** A request's time as a Date; a Timestamp outside its defined range is refused, naming the field. */
export function toDate(timestamp: Timestamp | undefined, field: string): Date | null {
  if (!timestamp) return null;
  if (timestamp.seconds < MIN_SECONDS || timestamp.seconds > MAX_SECONDS || timestamp.nanos < 0 || timestamp.nanos > 999_999_999) {
    throw invalidArgument(field, "must be a time from year 1 to year 9999 with nanos from 0 to 999999999");
  }
  return timestampDate(timestamp);
}

export function known<T>(names: Map<number, T>, value: number, field: string): T {
  const name = names.get(value);
  if (name === undefined) throw invalidArgument(field, `has unknown value ${value}`);
  return name;
}
