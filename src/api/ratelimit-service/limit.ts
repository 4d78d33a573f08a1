import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { LimitRequest, LimitResponseSchema } from "../../../gen/latchkey/v1/ratelimit_pb.js";
import type { LimitDecision } from "../../verify/ratelimiter.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import { limitAnswerToProto, limitAskFromProto } from "./convert.js";

type Response = MessageInitShape<typeof LimitResponseSchema>;

/** Stays synchronous while this instance holds the namespace's overrides and units of the counter. */
export const limit =
  ({ ratelimiter }: ServiceDeps) =>
  (request: LimitRequest, context: HandlerContext): Response | Promise<Response> => {
    const caller = callerIn(context);
    const decision = ratelimiter.limit(caller.workspaceId, [limitAskFromProto(request)]);
    return decision instanceof Promise ? decision.then(firstAnswer) : firstAnswer(decision);
  };

const firstAnswer = (decision: LimitDecision) => limitAnswerToProto(decision.answers[0]!);
