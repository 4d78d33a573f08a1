import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { DeleteKeyspaceRequest, DeleteKeyspaceResponseSchema } from "../../../gen/latchkey/v1/keyspace_pb.js";
import { failedPrecondition, notFound } from "../../domain/errors.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import { afterChanges, type Audited } from "../../pipeline/procedures.js";
import { loadKeyspace, requireId } from "../requests.js";

/**
 * The keyspace goes first and its keys after, so a crash in between leaves only keys that
 * nothing can reach, never a keyspace that half exists. CreateKey checks again after inserting.
 */
export const deleteKeyspace =
  ({ store }: ServiceDeps) =>
  async (request: DeleteKeyspaceRequest, context: HandlerContext): Promise<Audited<MessageInitShape<typeof DeleteKeyspaceResponseSchema>>> => {
    const caller = callerIn(context);
    const id = requireId("ks", request.id, "id");
    await loadKeyspace(store, caller, id);
    if (!request.force) {
      const live = await store.countLiveKeys(id);
      if (live > 0) throw failedPrecondition(`keyspace ${id} still holds ${live} keys. Delete them first or set force`);
    }
    if (!(await store.keyspaces.delete({ id, workspaceId: caller.workspaceId }))) throw notFound("keyspace", id);
    const changes = [{ workspaceId: caller.workspaceId, keyspaceId: id }];
    const deletedKeys = request.force ? await afterChanges(changes, () => store.deleteKeysInKeyspace(id)) : 0;
    return {
      response: { deletedKeys: BigInt(deletedKeys) },
      audit: { targets: [id], summary: { force: request.force, deletedKeys } },
      changes,
    };
  };
