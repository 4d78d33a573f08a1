import { checkName } from "./validate.js";

export interface WorkspaceRecord {
  id: string;
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

export const validateWorkspaceName = (name: string, path = "workspace.name") => checkName(path, name);
