import { invalidArgument } from "./errors.js";
import type { CreditRefill, Credits, JsonObject, KeyAttributes, RateLimit, ResourceScope } from "./key.js";
import { PERMISSION, PERMISSION_DESCRIPTION } from "./rbac.js";
import { checkCount, checkEach, checkPattern, checkRange } from "./validate.js";

/**
 * The checks of a key's fields one by one, which validateKeyAttributes (domain/key.ts) runs with
 * the rules across fields; identities and credit updates reuse those of the fields they share.
 */

export const MAX_JSON_BYTES = 16 * 1024;
export const MIN_REFILL_INTERVAL_MS = 1000;
const MAX_COUNT = Number.MAX_SAFE_INTEGER;

const RESOURCE_TYPE = /^[a-z][a-z0-9_]{0,63}$/;
const RESOURCE_ID_PATTERN = /^\S{1,256}$/;
const RATE_LIMIT_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * A key, everything it holds (permissions, scopes, resource scopes, origins, meta, claims), at most
 * this many bytes as JSON: every instance caches keys in memory, and each field's own limit allows
 * far more in sum.
 */
export const MAX_KEY_BYTES = 64 * 1024;

export function checkKeySize(path: string, attributes: Partial<KeyAttributes>) {
  const bytes = Buffer.byteLength(JSON.stringify(attributes));
  if (bytes > MAX_KEY_BYTES) throw invalidArgument(path, `must be at most ${MAX_KEY_BYTES} bytes as JSON with everything it holds, not ${bytes}`);
}

/** MongoDB refuses documents nested past 100 levels; metadata this deep is a mistake or an attack. */
export const MAX_JSON_DEPTH = 32;

export function checkJson(field: string, value: JsonObject | null) {
  if (!value) return;
  checkJsonTree(field, value);
  if (Buffer.byteLength(JSON.stringify(value)) > MAX_JSON_BYTES) throw invalidArgument(field, `must be at most ${MAX_JSON_BYTES} bytes as JSON`);
}

/**
 * Refuses a value nested too deep, or holding a number JSON cannot write: the binary
 * google.protobuf.Value carries NaN and infinities, which JSON would store as null and which no
 * JSON client could be answered with. Walked without recursion so no depth can overflow the stack.
 */
function checkJsonTree(field: string, value: JsonObject) {
  const pending: [unknown, number][] = [[value, 1]];
  while (pending.length > 0) {
    const [next, depth] = pending.pop()!;
    if (typeof next === "number" && !Number.isFinite(next)) throw invalidArgument(field, "must hold finite numbers only, not NaN or Infinity");
    if (typeof next !== "object" || next === null) continue;
    if (depth > MAX_JSON_DEPTH) throw invalidArgument(field, `must be nested at most ${MAX_JSON_DEPTH} levels deep`);
    for (const child of Object.values(next)) pending.push([child, depth + 1]);
  }
}

export function checkResourceScope(field: string, scope: ResourceScope) {
  checkPattern(`${field}.resource_type`, scope.resourceType, RESOURCE_TYPE, "1 to 64 characters of a-z and 0-9 and underscore starting with a letter");
  checkPattern(`${field}.resource_id_pattern`, scope.resourceIdPattern, RESOURCE_ID_PATTERN, "1 to 256 characters without spaces");
  if (scope.operations.length === 0) throw invalidArgument(`${field}.operations`, "must not be empty");
  checkEach(`${field}.operations`, scope.operations, 32, PERMISSION, PERMISSION_DESCRIPTION);
}

const WILDCARD_ORIGIN = /^(https?):\/\/\*\.(.+)$/;
const HOSTNAME = /^(?:[a-z0-9-]+\.)*[a-z0-9-]+$|^\[[0-9a-f:.]+\]$/;

/** Accepts `scheme://host[:port]` exactly as a browser sends it, or `scheme://*.domain[:port]`. */
export function checkOrigin(field: string, origin: string) {
  const wildcard = WILDCARD_ORIGIN.exec(origin);
  const candidate = wildcard ? `${wildcard[1]}://x.${wildcard[2]}` : origin;
  let parsed: URL | undefined;
  try {
    parsed = new URL(candidate);
  } catch {
    parsed = undefined;
  }
  const valid =
    parsed !== undefined &&
    ["http:", "https:"].includes(parsed.protocol) &&
    parsed.origin === candidate &&
    HOSTNAME.test(parsed.hostname) &&
    (!wildcard || parsed.hostname.split(".").length >= 3);
  if (!valid) {
    throw invalidArgument(field, "must be an http or https origin with no path or a wildcard subdomain origin");
  }
}

export function checkCredits(field: string, credits: Credits) {
  if (credits.refill) checkRefill(`${field}.refill`, credits.refill);
}

export function checkRefill(refillField: string, refill: CreditRefill) {
  if (refill.period === "interval") {
    checkRange(`${refillField}.interval_ms`, refill.intervalMs, MIN_REFILL_INTERVAL_MS, MAX_COUNT);
  } else if (refill.intervalMs !== 0) {
    throw invalidArgument(`${refillField}.interval_ms`, "is only allowed with REFILL_PERIOD_INTERVAL");
  }
  if (refill.period === "monthly") {
    checkRange(`${refillField}.day_of_month`, refill.dayOfMonth, 1, 31);
  } else if (refill.dayOfMonth !== 0) {
    throw invalidArgument(`${refillField}.day_of_month`, "is only allowed with REFILL_PERIOD_MONTHLY");
  }
}

export function checkRateLimits(field: string, limits: RateLimit[]) {
  checkCount(field, limits, 20);
  const names = new Set<string>();
  limits.forEach((limit, i) => {
    const at = `${field}[${i}]`;
    checkPattern(`${at}.name`, limit.name, RATE_LIMIT_NAME, "1 to 64 letters or digits or the characters dot underscore hyphen");
    if (names.has(limit.name)) throw invalidArgument(`${at}.name`, "repeats another rate limit's name");
    names.add(limit.name);
  });
}
