import type { ServiceImpl } from "@connectrpc/connect";
import type { WorkspaceService } from "../../../gen/latchkey/v1/workspace_pb.js";
import type { ServiceDeps } from "../deps.js";
import { guarded } from "../guard.js";
import { createWorkspace } from "./create-workspace.js";
import { getWorkspace } from "./get-workspace.js";
import { updateWorkspace } from "./update-workspace.js";

export const workspaceService = (deps: ServiceDeps): ServiceImpl<typeof WorkspaceService> => ({
  createWorkspace: guarded(deps, { permission: "admin", action: "workspace.create" }, createWorkspace(deps)),
  getWorkspace: guarded(deps, { permission: "workspace.read" }, getWorkspace(deps)),
  updateWorkspace: guarded(deps, { permission: "workspace.update", action: "workspace.update" }, updateWorkspace(deps)),
});
