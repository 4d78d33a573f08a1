import type { MessageInitShape } from "@bufbuild/protobuf";
import type { GetWorkspaceResponseSchema } from "../../../gen/latchkey/v1/workspace_pb.js";
import { notFound } from "../../domain/errors.js";
import { workspaceToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import type { Call } from "../guard.js";

export const getWorkspace =
  ({ store }: ServiceDeps) =>
  async (_request: unknown, call: Call): Promise<MessageInitShape<typeof GetWorkspaceResponseSchema>> => {
    const workspace = await store.workspaces.find({ id: call.caller.workspaceId });
    if (!workspace) throw notFound("workspace", call.caller.workspaceId);
    return { workspace: workspaceToProto(workspace) };
  };
