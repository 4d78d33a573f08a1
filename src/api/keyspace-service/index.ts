import type { KeyspaceService } from "../../../gen/latchkey/v1/keyspace_pb.js";
import type { ServiceDeps } from "../deps.js";
import { mutation, type Procedures, read } from "../../pipeline/procedures.js";
import { createKeyspace } from "./create-keyspace.js";
import { deleteKeyspace } from "./delete-keyspace.js";
import { getKeyspace } from "./get-keyspace.js";
import { listKeyspaces } from "./list-keyspaces.js";
import { updateKeyspace } from "./update-keyspace.js";

export const keyspaceService = (deps: ServiceDeps): Procedures<typeof KeyspaceService> => ({
  createKeyspace: mutation("keyspace.create", "keyspace.create", createKeyspace(deps)),
  getKeyspace: read("keyspace.read", getKeyspace(deps)),
  listKeyspaces: read("keyspace.read", listKeyspaces(deps)),
  updateKeyspace: mutation("keyspace.update", "keyspace.update", updateKeyspace(deps)),
  deleteKeyspace: mutation("keyspace.delete", "keyspace.delete", deleteKeyspace(deps)),
});
