import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { GetOverrideRequest, GetOverrideResponseSchema } from "../../../gen/latchkey/v1/ratelimit_pb.js";
import { overrideNotFound } from "../../domain/ratelimit.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import { overrideToProto } from "./convert.js";

export const getOverride =
  ({ store }: ServiceDeps) =>
  async (request: GetOverrideRequest, context: HandlerContext): Promise<MessageInitShape<typeof GetOverrideResponseSchema>> => {
    const caller = callerIn(context);
    const override = await store.ratelimits.overrides.find({ workspaceId: caller.workspaceId, namespace: request.namespace, identifier: request.identifier });
    if (!override) throw overrideNotFound();
    return { override: overrideToProto(override) };
  };
