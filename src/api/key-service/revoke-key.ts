import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { RevokeKeyRequest, RevokeKeyResponseSchema } from "../../../gen/latchkey/v1/key_pb.js";
import { keyToProto } from "../mapping/keys.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import type { Audited } from "../../pipeline/procedures.js";
import { loadLiveKey, refuseKeyChange, requireId } from "../requests.js";
import { keyChanged } from "../../verify/change-feed.js";

export const revokeKey =
  ({ store, now }: ServiceDeps) =>
  async (request: RevokeKeyRequest, context: HandlerContext): Promise<Audited<MessageInitShape<typeof RevokeKeyResponseSchema>>> => {
    const caller = callerIn(context);
    const id = requireId("key", request.id, "id");
    await loadLiveKey(store, caller, id);
    const at = new Date(now());
    const revoked =
      (await store.updateKey(
        id,
        { revokedAt: at, revokedBy: request.revokedBy, revocationReason: request.reason, updatedAt: at },
        { notDeleted: true, notRevoked: true },
      )) ?? (await refuseKeyChange(store, caller, id));
    return {
      response: { key: keyToProto(revoked, at.getTime()) },
      audit: { targets: [id], summary: { reason: request.reason, revokedBy: request.revokedBy } },
      changes: [keyChanged(revoked)],
    };
  };
