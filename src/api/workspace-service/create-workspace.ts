import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { CreateWorkspaceRequest, CreateWorkspaceResponseSchema } from "../../../gen/latchkey/v1/workspace_pb.js";
import { MANAGEMENT_PERMISSIONS, validateRootKeyName } from "../../domain/access.js";
import { newId } from "../../domain/ids.js";
import { validateWorkspaceName } from "../../domain/workspace.js";
import { rootKeyToProto, workspaceToProto } from "../mapping/records.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import type { Audited } from "../../pipeline/procedures.js";
import { requireMessage } from "../requests.js";
import { issueRootKey } from "../root-key-service/issue-root-key.js";

/**
 * The operator's bootstrap: a new tenant and its first root key, which holds every permission. The
 * workspace is written first, so no root key can ever name a workspace that does not exist; should
 * the root key fail, the workspace is removed again rather than left without a way in.
 */
export const createWorkspace =
  (deps: ServiceDeps) =>
  async (request: CreateWorkspaceRequest, context: HandlerContext): Promise<Audited<MessageInitShape<typeof CreateWorkspaceResponseSchema>>> => {
    const caller = callerIn(context);
    const name = requireMessage(request.workspace, "workspace").name;
    validateWorkspaceName(name);
    const rootKeyName = request.rootKeyName || "bootstrap";
    validateRootKeyName(rootKeyName, "root_key_name");
    const at = deps.now();
    const workspace = { id: newId("ws", at, deps.random), name, createdAt: new Date(at), updatedAt: new Date(at) };
    await deps.store.workspaces.insert(workspace);
    const { rootKey, secret, change } = await issueRootKey(deps, {
      workspaceId: workspace.id,
      name: rootKeyName,
      permissions: [...MANAGEMENT_PERMISSIONS],
      keyspaceIds: [],
      createdBy: caller.actor,
      expiresAt: null,
    }).catch(async (error: unknown) => {
      await deps.store.workspaces.delete({ id: workspace.id });
      throw error;
    });
    return {
      response: { workspace: workspaceToProto(workspace), rootKey: rootKeyToProto(rootKey), rootKeySecret: secret },
      audit: { targets: [workspace.id, rootKey.id], summary: { name, rootKeyName }, workspaceId: workspace.id },
      changes: [change],
    };
  };
