import type { MessageInitShape } from "@bufbuild/protobuf";
import type { UpdateWorkspaceRequest, UpdateWorkspaceResponseSchema } from "../../../gen/latchkey/v1/workspace_pb.js";
import { notFound } from "../../domain/errors.js";
import { validateWorkspaceName } from "../../domain/workspace.js";
import { workspaceToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import type { Call } from "../guard.js";
import { maskedFields, requireMessage } from "../requests.js";

export const updateWorkspace =
  ({ store, now }: ServiceDeps) =>
  async (request: UpdateWorkspaceRequest, call: Call): Promise<MessageInitShape<typeof UpdateWorkspaceResponseSchema>> => {
    const input = requireMessage(request.workspace, "workspace");
    maskedFields(request.updateMask, { name: "name" });
    validateWorkspaceName(input.name);
    const id = call.caller.workspaceId;
    call.targets.push(id);
    call.summary = { name: input.name };
    const updated = await store.workspaces.update({ id }, { name: input.name, updatedAt: new Date(now()) });
    if (!updated) throw notFound("workspace", id);
    return { workspace: workspaceToProto(updated) };
  };
