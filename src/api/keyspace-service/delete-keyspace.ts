import type { MessageInitShape } from "@bufbuild/protobuf";
import type { DeleteKeyspaceRequest, DeleteKeyspaceResponseSchema } from "../../../gen/latchkey/v1/keyspace_pb.js";
import { failedPrecondition, notFound } from "../../domain/errors.js";
import type { ServiceDeps } from "../deps.js";
import type { Call } from "../guard.js";
import { loadKeyspace, requireId } from "../requests.js";

/**
 * The keyspace goes first and its keys after, so a crash in between leaves only keys that
 * nothing can reach, never a keyspace that half exists. CreateKey checks again after inserting.
 */
export const deleteKeyspace =
  ({ store, changes }: ServiceDeps) =>
  async (request: DeleteKeyspaceRequest, call: Call): Promise<MessageInitShape<typeof DeleteKeyspaceResponseSchema>> => {
    const id = requireId("ks", request.id, "id");
    call.targets.push(id);
    call.summary = { force: request.force };
    await loadKeyspace(store, call, id);
    if (!request.force) {
      const live = await store.countLiveKeys(id);
      if (live > 0) throw failedPrecondition(`keyspace ${id} still holds ${live} keys. Delete them first or set force`);
    }
    if (!(await store.keyspaces.delete({ id, workspaceId: call.caller.workspaceId }))) throw notFound("keyspace", id);
    await changes.publish({ keyspaceId: id });
    const deletedKeys = request.force ? await store.deleteKeysInKeyspace(id) : 0;
    call.summary.deletedKeys = deletedKeys;
    return { deletedKeys: BigInt(deletedKeys) };
  };
