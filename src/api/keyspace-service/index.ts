import type { ServiceImpl } from "@connectrpc/connect";
import type { KeyspaceService } from "../../../gen/latchkey/v1/keyspace_pb.js";
import type { ServiceDeps } from "../deps.js";
import { createKeyspace } from "./create-keyspace.js";
import { deleteKeyspace } from "./delete-keyspace.js";
import { getKeyspace } from "./get-keyspace.js";
import { listKeyspaces } from "./list-keyspaces.js";
import { updateKeyspace } from "./update-keyspace.js";

export const keyspaceService = (deps: ServiceDeps): ServiceImpl<typeof KeyspaceService> => ({
  createKeyspace: createKeyspace(deps),
  getKeyspace: getKeyspace(deps),
  listKeyspaces: listKeyspaces(deps),
  updateKeyspace: updateKeyspace(deps),
  deleteKeyspace: deleteKeyspace(deps),
});
