import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { ListOverridesRequest, ListOverridesResponseSchema } from "../../../gen/latchkey/v1/ratelimit_pb.js";
import type { ServiceDeps } from "../deps.js";
import { listPage } from "../pagination.js";
import { callerIn } from "../../pipeline/context.js";
import { overrideToProto } from "./convert.js";

export const listOverrides =
  ({ store }: ServiceDeps) =>
  async (request: ListOverridesRequest, context: HandlerContext): Promise<MessageInitShape<typeof ListOverridesResponseSchema>> => {
    const caller = callerIn(context);
    const match = { workspaceId: caller.workspaceId, namespace: request.namespace };
    const { items, nextPageToken } = await listPage(store.ratelimits.overrides, "rlov", request, match, overrideToProto);
    return { overrides: items, nextPageToken };
  };
