import { BASE58_CHARS, encodeBase58Fixed, randomBase58, type RandomSource, cryptoRandom } from "./base58.js";

/**
 * Public ids are `<kind>_` + 9 characters of creation time in milliseconds + 12 random characters.
 * Fixed width in an ASCII-ordered alphabet makes them sort by creation time, which gives listings a
 * stable order and a cursor for free. They are never derived from a secret.
 */
const TIME_CHARS = 9;
const RANDOM_CHARS = 12;

export const ID_KINDS = ["ws", "ks", "key", "rk", "idt", "role", "perm", "evt", "rlns", "rlov"] as const;
export type IdKind = (typeof ID_KINDS)[number];

export function newId(kind: IdKind, now: number, random: RandomSource = cryptoRandom): string {
  return `${kind}_${encodeBase58Fixed(now, TIME_CHARS)}${randomBase58(RANDOM_CHARS, random)}`;
}

const ID_PATTERNS = Object.fromEntries(ID_KINDS.map((kind) => [kind, new RegExp(`^${kind}_[${BASE58_CHARS}]{${TIME_CHARS + RANDOM_CHARS}}$`)])) as Record<
  IdKind,
  RegExp
>;

export const isId = (kind: IdKind, value: string) => ID_PATTERNS[kind].test(value);
