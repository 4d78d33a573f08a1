import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { DeleteKeyRequest, DeleteKeyResponseSchema } from "../../../gen/latchkey/v1/key_pb.js";
import { notFound } from "../../domain/errors.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import type { Audited } from "../../pipeline/procedures.js";
import { loadLiveKey, requireId } from "../requests.js";
import { keyChanged } from "../../verify/change-feed.js";

/** A soft delete keeps the record and its digest, so the secret can never be issued again. */
export const deleteKey =
  ({ store, now }: ServiceDeps) =>
  async (request: DeleteKeyRequest, context: HandlerContext): Promise<Audited<MessageInitShape<typeof DeleteKeyResponseSchema>>> => {
    const caller = callerIn(context);
    const id = requireId("key", request.id, "id");
    await loadLiveKey(store, caller, id, { softDeleted: request.permanent });
    const at = new Date(now());
    const deleted = request.permanent ? await store.deleteKey(id) : await store.updateKey(id, { deletedAt: at, updatedAt: at }, { notDeleted: true });
    if (!deleted) throw notFound("key", id);
    return { response: {}, audit: { targets: [id], summary: { permanent: request.permanent } }, changes: [keyChanged(deleted)] };
  };
