import { timestampFromDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { LimitRequest, LimitResponseSchema, RatelimitNamespaceSchema, RatelimitOverrideSchema } from "../../../gen/latchkey/v1/ratelimit_pb.js";
import type { RatelimitNamespaceRecord, RatelimitOverrideRecord } from "../../domain/ratelimit.js";
import type { LimitAnswer, LimitAsk } from "../../verify/ratelimiter.js";

/** The request's limit; its fields are checked by their protovalidate rules before the handler runs. */
export const limitAskFromProto = (request: LimitRequest): LimitAsk => ({
  namespace: request.namespace,
  identifier: request.identifier,
  limit: Number(request.limit),
  durationMs: Number(request.durationMs),
  cost: request.cost === undefined ? 1 : Number(request.cost),
});

export const limitAnswerToProto = (answer: LimitAnswer): MessageInitShape<typeof LimitResponseSchema> => ({
  success: answer.hadRoom,
  limit: BigInt(answer.limit),
  remaining: BigInt(answer.remaining),
  resetAt: timestampFromMs(answer.resetAt),
  durationMs: BigInt(answer.durationMs),
  overrideId: answer.overrideId,
});

export const overrideToProto = (override: RatelimitOverrideRecord): MessageInitShape<typeof RatelimitOverrideSchema> => ({
  id: override.id,
  namespace: override.namespace,
  identifier: override.identifier,
  limit: BigInt(override.limit),
  durationMs: BigInt(override.durationMs),
  createdAt: timestampFromDate(override.createdAt),
  updatedAt: timestampFromDate(override.updatedAt),
});

export const namespaceToProto = (namespace: RatelimitNamespaceRecord): MessageInitShape<typeof RatelimitNamespaceSchema> => ({
  id: namespace.id,
  name: namespace.name,
  createdAt: timestampFromDate(namespace.createdAt),
});
