import { randomBytes } from "node:crypto";

/**
 * Bitcoin's base58 alphabet: no 0/O or I/l to confuse, no punctuation to break a
 * double-click selection. It is in ASCII order, so fixed-width encodings sort like the numbers they encode.
 */
export const BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
export const BASE58_CHARS = "1-9A-HJ-NP-Za-km-z";

const BITS_PER_CHAR = Math.log2(58);
/** The largest multiple of 58 that fits in a byte: bytes at or above it are redrawn, so every character is equally likely. */
const UNBIASED_LIMIT = 232;

/** Fills a buffer with cryptographically secure random bytes; injectable so tests can observe the source. */
export type RandomSource = (size: number) => Uint8Array;
export const cryptoRandom: RandomSource = (size) => randomBytes(size);

export const charsForBits = (bits: number) => Math.ceil(bits / BITS_PER_CHAR);

/** `length` uniformly random base58 characters. */
export function randomBase58(length: number, random: RandomSource = cryptoRandom): string {
  let out = "";
  while (out.length < length) {
    for (const byte of random(length - out.length + 8)) {
      if (byte < UNBIASED_LIMIT && out.length < length) out += BASE58_ALPHABET[byte % 58];
    }
  }
  return out;
}

/** Encodes a non-negative safe integer in exactly `width` base58 characters. */
export function encodeBase58Fixed(value: number, width: number): string {
  let rest = value;
  let out = "";
  for (let i = 0; i < width; i++) {
    out = BASE58_ALPHABET[rest % 58] + out;
    rest = Math.floor(rest / 58);
  }
  if (rest !== 0) throw new RangeError(`${value} does not fit in ${width} base58 characters`);
  return out;
}
