import type { MessageInitShape } from "@bufbuild/protobuf";
import type { DeleteKeyRequest, DeleteKeyResponseSchema } from "../../../gen/latchkey/v1/key_pb.js";
import { notFound } from "../../domain/errors.js";
import type { ServiceDeps } from "../deps.js";
import type { Call } from "../guard.js";
import { loadLiveKey, requireId } from "../requests.js";

/** A soft delete keeps the record and its digest, so the secret can never be issued again. */
export const deleteKey =
  ({ store, now, changes }: ServiceDeps) =>
  async (request: DeleteKeyRequest, call: Call): Promise<MessageInitShape<typeof DeleteKeyResponseSchema>> => {
    const id = requireId("key", request.id, "id");
    call.targets.push(id);
    call.summary = { permanent: request.permanent };
    await loadLiveKey(store, call, id, { softDeleted: request.permanent });
    const at = new Date(now());
    const deleted = request.permanent
      ? await store.deleteKey(id)
      : await store.updateKey(id, { deletedAt: at, updatedAt: at }, { notDeleted: true });
    if (!deleted) throw notFound("key", id);
    await changes.publish({ keyId: id, hash: deleted.hash });
    return {};
  };
