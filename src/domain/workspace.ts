import { checkLength } from "./validate.js";

export interface WorkspaceRecord {
  id: string;
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

export const validateWorkspaceName = (name: string, path = "workspace.name") => checkLength(path, name.trim(), 128, 1);
