import { hash } from "node:crypto";
import { crc32 } from "node:zlib";
import { BASE58_CHARS, charsForBits, encodeBase58Fixed, randomBase58, type RandomSource, cryptoRandom } from "./base58.js";

/**
 * A secret is `<prefix>_<random><checksum>`:
 * - prefix: 1 to 16 characters of a-z, 0-9 and `_`, starting with a letter, not ending with `_`;
 * - random: base58 characters drawn from a CSPRNG, enough of them to carry `byteLength * 8` bits;
 * - checksum: CRC-32 of everything before it, as 6 base58 characters. CRC-32 catches every
 *   single-character change, so typos and truncations are refused without a storage lookup.
 */
export const MIN_BYTE_LENGTH = 16;
export const MAX_BYTE_LENGTH = 64;
export const DEFAULT_BYTE_LENGTH = 16;
const CHECKSUM_CHARS = 6;
const MIN_TAIL = charsForBits(MIN_BYTE_LENGTH * 8) + CHECKSUM_CHARS;
const MAX_TAIL = charsForBits(MAX_BYTE_LENGTH * 8) + CHECKSUM_CHARS;

/** No well-formed secret is longer: a 16-character prefix, its `_`, and the longest random part and checksum. */
export const MAX_SECRET_LENGTH = 16 + 1 + MAX_TAIL;

export const PREFIX_PATTERN = /^[a-z](?:[a-z0-9_]{0,14}[a-z0-9])?$/;

/** What a secret scanner can look for. */
export const SECRET_PATTERN = new RegExp(`\\b[a-z](?:[a-z0-9_]{0,14}[a-z0-9])?_[${BASE58_CHARS}]{${MIN_TAIL},${MAX_TAIL}}\\b`);

const TAIL_PATTERN = new RegExp(`^[${BASE58_CHARS}]{${MIN_TAIL},${MAX_TAIL}}$`);

export interface IssuedSecret {
  secret: string;
  /** The prefix, its `_` and the first `startLength` random characters: safe to show. */
  start: string;
  digest: string;
}

export function issueSecret(prefix: string, byteLength: number, startLength: number, random: RandomSource = cryptoRandom): IssuedSecret {
  const body = `${prefix}_${randomBase58(charsForBits(byteLength * 8), random)}`;
  const secret = body + checksum(body);
  return { secret, start: body.slice(0, prefix.length + 1 + startLength), digest: digestSecret(secret) };
}

/** Whether a presented string is shaped like a latchkey secret with a valid checksum. */
export function isWellFormedSecret(secret: string): boolean {
  const separator = secret.lastIndexOf("_");
  if (separator < 1) return false;
  const prefix = secret.slice(0, separator);
  const tail = secret.slice(separator + 1);
  if (!PREFIX_PATTERN.test(prefix) || !TAIL_PATTERN.test(tail)) return false;
  const body = secret.slice(0, secret.length - CHECKSUM_CHARS);
  return checksum(body) === secret.slice(secret.length - CHECKSUM_CHARS);
}

/**
 * The longest secret worth looking up: latchkey's own are shorter, but imported keys (ImportKeys)
 * keep the format of the system that issued them.
 */
export const MAX_PRESENTED_SECRET_LENGTH = 512;

export type DigestEncoding = "hex" | "base64" | "base64url";

const DIGEST_FORMS: Record<DigestEncoding, RegExp> = {
  hex: /^[0-9a-fA-F]{64}$/,
  base64: /^[A-Za-z0-9+/]{43}=$/,
  base64url: /^[A-Za-z0-9_-]{43}$/,
};

/**
 * A SHA-256 digest as another system stored it (Mixpeek hex, Unkey base64, Better Auth base64url
 * without padding), in the form latchkey stores digests; undefined when it is not 32 bytes written
 * that way.
 */
export function importedDigest(value: string, encoding: DigestEncoding): string | undefined {
  if (!DIGEST_FORMS[encoding].test(value)) return undefined;
  return encoding === "hex" ? value.toLowerCase() : Buffer.from(value, encoding).toString("hex");
}

/** The only form in which a secret is ever stored. */
export const digestSecret = (secret: string) => hash("sha256", secret, "hex");

const checksum = (body: string) => encodeBase58Fixed(crc32(body), CHECKSUM_CHARS);
