import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { UpdateWorkspaceRequest, UpdateWorkspaceResponseSchema } from "../../../gen/latchkey/v1/workspace_pb.js";
import { notFound } from "../../domain/errors.js";
import { validateWorkspaceName } from "../../domain/workspace.js";
import { workspaceToProto } from "../mapping/records.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import type { Audited } from "../../pipeline/procedures.js";
import { maskedFields, requireMessage } from "../requests.js";

export const updateWorkspace =
  ({ store, now }: ServiceDeps) =>
  async (request: UpdateWorkspaceRequest, context: HandlerContext): Promise<Audited<MessageInitShape<typeof UpdateWorkspaceResponseSchema>>> => {
    const caller = callerIn(context);
    const input = requireMessage(request.workspace, "workspace");
    maskedFields(request.updateMask, { name: "name" });
    validateWorkspaceName(input.name);
    const id = caller.workspaceId;
    const updated = await store.workspaces.update({ id }, { name: input.name, updatedAt: new Date(now()) });
    if (!updated) throw notFound("workspace", id);
    return { response: { workspace: workspaceToProto(updated) }, audit: { targets: [id], summary: { name: input.name } } };
  };
