import type { WorkspaceService } from "../../../gen/latchkey/v1/workspace_pb.js";
import type { ServiceDeps } from "../deps.js";
import { mutation, type Procedures, read } from "../../pipeline/procedures.js";
import { createWorkspace } from "./create-workspace.js";
import { getWorkspace } from "./get-workspace.js";
import { updateWorkspace } from "./update-workspace.js";

export const workspaceService = (deps: ServiceDeps): Procedures<typeof WorkspaceService> => ({
  createWorkspace: mutation("admin", "workspace.create", createWorkspace(deps)),
  getWorkspace: read("workspace.read", getWorkspace(deps)),
  updateWorkspace: mutation("workspace.update", "workspace.update", updateWorkspace(deps)),
});
