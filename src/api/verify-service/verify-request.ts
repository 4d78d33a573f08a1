import { create } from "@bufbuild/protobuf";
import {
  type RateLimitResult,
  VerifyCode,
  type VerifyKeyRequest,
  type VerifyKeyResponse,
  VerifyKeyResponseSchema,
} from "../../../gen/latchkey/v1/verify_pb.js";
import type { Caller } from "../../domain/access.js";
import type { Verdict, VerifiableKey } from "../../domain/verification.js";
import type { VerifyRequest, VerifyResult } from "../../verify/verifier.js";
import type { LimitOutcome } from "../../domain/fixed-window.js";
import { EncodedInit, encodeOnce } from "../../transport/encoding.js";
import { appendCounters } from "./counter-encoding.js";
import { ParsedQueries } from "./parsed-queries.js";
import { keyIdentityToProto } from "../mapping/keys.js";
import { identityToProto } from "../mapping/records.js";
import { requireId } from "../requests.js";

export const CODES: Record<Verdict, VerifyCode> = {
  valid: VerifyCode.VALID,
  not_found: VerifyCode.NOT_FOUND,
  revoked: VerifyCode.REVOKED,
  disabled: VerifyCode.DISABLED,
  expired: VerifyCode.EXPIRED,
  forbidden: VerifyCode.FORBIDDEN,
  insufficient_permissions: VerifyCode.INSUFFICIENT_PERMISSIONS,
  rate_limited: VerifyCode.RATE_LIMITED,
  usage_exceeded: VerifyCode.USAGE_EXCEEDED,
};

/**
 * The request as the verifier takes it. Field rules were checked from the proto already; what is
 * left needs the domain: id formats and the permission query's grammar. A wrong key is never an
 * error: whatever string is presented gets a verdict.
 */
export function verifyRequestFromProto(request: VerifyKeyRequest, caller: Caller, path = ""): VerifyRequest {
  const resource = request.resource;
  return {
    workspaceId: caller.workspaceId,
    keyspaceIds: caller.keyspaceIds,
    secret: request.key,
    keyspaceId: request.keyspaceId ? requireId("ks", request.keyspaceId, `${path}keyspace_id`) : undefined,
    permissionQuery: request.permissionQuery.trim() ? parsedQueries.get(caller.workspaceId, request.permissionQuery, `${path}permission_query`) : undefined,
    requiredScopes: request.requiredScopes,
    resource: resource && { type: resource.type, id: resource.id, operation: resource.operation },
    origin: request.origin,
    cost: request.cost === undefined ? 1 : Number(request.cost),
    rateLimitNames: request.rateLimits,
    tags: request.tags,
  };
}

/** A workspace keeps more parsed queries than its verifiers ask; an instance, enough for many such workspaces in little memory. */
const parsedQueries = new ParsedQueries(64, 4096);

/**
 * A key's answer for a verdict is the same every time but for its credits and rate limits: that
 * part is built and encoded once per cached key (and forgotten with it), and an answer that
 * carries counters is the steady part with them added, as an object and as bytes (protobuf allows
 * a message to be written as its fields one after another, in any order). Building and encoding
 * the whole answer for every call of a key with credits or limits cost more than the verification.
 */
const steadyAnswers = new WeakMap<VerifiableKey, Partial<Record<Verdict, VerifyKeyResponse>>>();
let notFoundAnswer: VerifyKeyResponse | undefined;

export function verifyResultToProto(result: VerifyResult): VerifyKeyResponse | Counted {
  const answer = steadyAnswer(result);
  return result.rateLimits.length > 0 || result.creditsRemaining !== undefined ? withCounters(answer, result) : answer;
}

function steadyAnswer(result: VerifyResult): VerifyKeyResponse {
  if (!result.key) return (notFoundAnswer ??= steady(buildResponse(result)));
  let answers = steadyAnswers.get(result.key);
  if (!answers) steadyAnswers.set(result.key, (answers = {}));
  return (answers[result.verdict] ??= steady(buildResponse(result)));
}

const steady = (response: VerifyKeyResponse) => {
  encodeOnce(VerifyKeyResponseSchema, response);
  return response;
};

/** The steady fields of an answer: everything but its credits and rate limits. */
function buildResponse({ verdict, key }: VerifyResult): VerifyKeyResponse {
  return create(VerifyKeyResponseSchema, {
    valid: verdict === "valid",
    code: CODES[verdict],
    ...(key && {
      keyId: key.record.id,
      ...keyIdentityToProto(key.record),
      permissions: key.permissions,
      identity: key.identity ? identityToProto(key.identity) : undefined,
    }),
  });
}

const CREDITS_REMAINING_FIELD = 15;
const RATE_LIMITS_FIELD = 16;

/**
 * The answer with its counters: the steady bytes with the counters' fields written after them,
 * straight from the verifier's numbers (counter-encoding.ts).
 */
function withCounters(answer: VerifyKeyResponse, { creditsRemaining, rateLimits }: VerifyResult): Counted {
  const bytes = appendCounters(encodeOnce(VerifyKeyResponseSchema, answer), CREDITS_REMAINING_FIELD, creditsRemaining, RATE_LIMITS_FIELD, rateLimits);
  // Its fields are getters defined on the class below, from the schema, which TypeScript cannot see.
  return new CountedAnswer(bytes, answer, creditsRemaining, rateLimits) as unknown as Counted;
}

/** An answer with counters as its callers see it: its bytes, and every field of the answer (the getters of CountedAnswer). */
type Counted = EncodedInit & Omit<VerifyKeyResponse, "$typeName" | "$unknown">;

/**
 * An answer with counters, made for every call of a key with credits or rate limits: its bytes,
 * and its fields for a transport that encodes the message itself, read through to the steady
 * answer and the verifier's counters (the getters below). A message object with every field
 * copied, its bigints and its rate-limit messages made on every call cost several times what
 * writing its bytes does (docs/benchmarks.md, figures behind the code's shape), and the native
 * gRPC port reads none of them.
 */
class CountedAnswer extends EncodedInit {
  constructor(
    bytes: Uint8Array,
    readonly steady: VerifyKeyResponse,
    private readonly credits: number | undefined,
    private readonly limits: readonly LimitOutcome[],
  ) {
    super(bytes);
  }

  get creditsRemaining(): bigint | undefined {
    return this.credits === undefined ? undefined : BigInt(this.credits);
  }

  get rateLimits(): RateLimitResult[] {
    return this.limits.map(rateLimitResultOf);
  }
}

for (const { localName } of VerifyKeyResponseSchema.members) {
  if (localName in CountedAnswer.prototype) continue;
  Object.defineProperty(CountedAnswer.prototype, localName, {
    get(this: CountedAnswer) {
      return this.steady[localName as keyof VerifyKeyResponse];
    },
  });
}

/**
 * A literal, not create(): the message's shape is fixed, and making it through reflection was
 * most of an answer's cost. `reset_at` is what timestampFromMs makes of the milliseconds.
 */
function rateLimitResultOf({ name, limit, remaining, resetAt, exceeded }: LimitOutcome): RateLimitResult {
  const seconds = Math.floor(resetAt / 1000);
  return {
    $typeName: "latchkey.v1.RateLimitResult",
    name,
    limit: BigInt(limit),
    remaining: BigInt(remaining),
    resetAt: { $typeName: "google.protobuf.Timestamp", seconds: BigInt(seconds), nanos: (resetAt - seconds * 1000) * 1_000_000 },
    exceeded,
  };
}
