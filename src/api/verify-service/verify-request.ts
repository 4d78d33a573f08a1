import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  RateLimitResultSchema,
  VerifyCode,
  type VerifyKeyRequest,
  type VerifyKeyResponse,
  VerifyKeyResponseSchema,
} from "../../../gen/latchkey/v1/verify_pb.js";
import { parsePermissionQuery, type PermissionQuery } from "../../domain/permission-query.js";
import type { Caller } from "../../domain/access.js";
import type { Verdict, VerifiableKey } from "../../domain/verification.js";
import type { VerifyRequest, VerifyResult } from "../../verify/verifier.js";
import { encodeOnce } from "../../transport/encoding.js";
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
    permissionQuery: request.permissionQuery.trim() ? parsedQuery(request.permissionQuery, `${path}permission_query`) : undefined,
    requiredScopes: request.requiredScopes,
    resource: resource && { type: resource.type, id: resource.id, operation: resource.operation },
    origin: request.origin,
    cost: request.cost === undefined ? 1 : Number(request.cost),
    rateLimitNames: request.rateLimits,
    tags: request.tags,
  };
}

/** Verifiers ask the same few questions over and over: each distinct query is parsed once. */
const parsedQueries = new Map<string, PermissionQuery>();
const MAX_PARSED_QUERIES = 1000;

function parsedQuery(query: string, field: string): PermissionQuery {
  let parsed = parsedQueries.get(query);
  if (!parsed) {
    parsed = parsePermissionQuery(query, field);
    if (parsedQueries.size >= MAX_PARSED_QUERIES) parsedQueries.clear();
    parsedQueries.set(query, parsed);
  }
  return parsed;
}

/**
 * A key's answer for a verdict is the same every time unless credits or rate limits are in it:
 * such answers are built and encoded once per cached key (and forgotten with it).
 */
const steadyAnswers = new WeakMap<VerifiableKey, Partial<Record<Verdict, VerifyKeyResponse>>>();
let notFoundAnswer: VerifyKeyResponse | undefined;

export function verifyResultToProto(result: VerifyResult): VerifyKeyResponse {
  if (result.rateLimits.length > 0 || result.creditsRemaining !== undefined) return buildResponse(result);
  if (!result.key) return (notFoundAnswer ??= steady(buildResponse(result)));
  let answers = steadyAnswers.get(result.key);
  if (!answers) steadyAnswers.set(result.key, (answers = {}));
  return (answers[result.verdict] ??= steady(buildResponse(result)));
}

const steady = (response: VerifyKeyResponse) => {
  encodeOnce(VerifyKeyResponseSchema, response);
  return response;
};

function buildResponse({ verdict, key, creditsRemaining, rateLimits }: VerifyResult): VerifyKeyResponse {
  return create(VerifyKeyResponseSchema, {
    valid: verdict === "valid",
    code: CODES[verdict],
    ...(key && {
      keyId: key.record.id,
      ...keyIdentityToProto(key.record),
      permissions: key.permissions,
      identity: key.identity ? identityToProto(key.identity) : undefined,
    }),
    creditsRemaining: creditsRemaining === undefined ? undefined : BigInt(creditsRemaining),
    rateLimits: rateLimits.map((limit) =>
      create(RateLimitResultSchema, {
        name: limit.name,
        limit: BigInt(limit.limit),
        remaining: BigInt(limit.remaining),
        resetAt: timestampFromMs(limit.resetAt),
        exceeded: limit.exceeded,
      }),
    ),
  });
}
