import { invalidArgument } from "./errors.js";

/** Small checks shared by every resource's validation; each throws INVALID_ARGUMENT naming the field. */

export function checkLength(field: string, value: string, max: number, min = 0): void {
  if (value.length < min || value.length > max) {
    throw invalidArgument(field, min > 0 ? `must be ${min} to ${max} characters` : `must be at most ${max} characters`);
  }
}

/**
 * A human-readable name (a workspace's, a keyspace's, a root key's): 1 to 128 characters as given,
 * not all blank. The length counts what is stored, blanks included.
 */
export function checkName(field: string, value: string): void {
  if (value.length > 128 || value.trim() === "") throw invalidArgument(field, "must be 1 to 128 characters, not all blank");
}

export function checkPattern(field: string, value: string, pattern: RegExp, description: string): void {
  if (!pattern.test(value)) throw invalidArgument(field, `must be ${description}`);
}

export function checkRange(field: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw invalidArgument(field, `must be between ${min} and ${max}`);
  }
}

export function checkCount(field: string, values: readonly unknown[], max: number): void {
  if (values.length > max) throw invalidArgument(field, `must have at most ${max} entries`);
}

export function checkEach(field: string, values: readonly string[], max: number, pattern: RegExp, description: string): void {
  checkCount(field, values, max);
  values.forEach((value, i) => checkPattern(`${field}[${i}]`, value, pattern, description));
}

/** Drops repeats, keeping first occurrences in order. */
export const unique = (values: readonly string[]) => [...new Set(values)];
