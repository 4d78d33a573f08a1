import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { GetWorkspaceResponseSchema } from "../../../gen/latchkey/v1/workspace_pb.js";
import { notFound } from "../../domain/errors.js";
import { workspaceToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";

export const getWorkspace =
  ({ store }: ServiceDeps) =>
  async (_request: unknown, context: HandlerContext): Promise<MessageInitShape<typeof GetWorkspaceResponseSchema>> => {
    const caller = callerIn(context);
    const workspace = await store.workspaces.find({ id: caller.workspaceId });
    if (!workspace) throw notFound("workspace", caller.workspaceId);
    return { workspace: workspaceToProto(workspace) };
  };
