import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { MultiLimitRequest, MultiLimitResponseSchema } from "../../../gen/latchkey/v1/ratelimit_pb.js";
import type { LimitDecision } from "../../verify/ratelimiter.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import { limitAnswerToProto, limitAskFromProto } from "./convert.js";

type Response = MessageInitShape<typeof MultiLimitResponseSchema>;

export const multiLimit =
  ({ ratelimiter }: ServiceDeps) =>
  (request: MultiLimitRequest, context: HandlerContext): Response | Promise<Response> => {
    const caller = callerIn(context);
    const decision = ratelimiter.limit(caller.workspaceId, request.limits.map(limitAskFromProto));
    return decision instanceof Promise ? decision.then(toResponse) : toResponse(decision);
  };

const toResponse = (decision: LimitDecision): Response => ({ success: decision.success, results: decision.answers.map(limitAnswerToProto) });
