import type { ServiceImpl } from "@connectrpc/connect";
import type { KeyspaceService } from "../../../gen/latchkey/v1/keyspace_pb.js";
import type { ServiceDeps } from "../deps.js";
import { guarded } from "../guard.js";
import { createKeyspace } from "./create-keyspace.js";
import { deleteKeyspace } from "./delete-keyspace.js";
import { getKeyspace } from "./get-keyspace.js";
import { listKeyspaces } from "./list-keyspaces.js";
import { updateKeyspace } from "./update-keyspace.js";

export const keyspaceService = (deps: ServiceDeps): ServiceImpl<typeof KeyspaceService> => ({
  createKeyspace: guarded(deps, { permission: "keyspace.create", action: "keyspace.create" }, createKeyspace(deps)),
  getKeyspace: guarded(deps, { permission: "keyspace.read" }, getKeyspace(deps)),
  listKeyspaces: guarded(deps, { permission: "keyspace.read" }, listKeyspaces(deps)),
  updateKeyspace: guarded(deps, { permission: "keyspace.update", action: "keyspace.update" }, updateKeyspace(deps)),
  deleteKeyspace: guarded(deps, { permission: "keyspace.delete", action: "keyspace.delete" }, deleteKeyspace(deps)),
});
