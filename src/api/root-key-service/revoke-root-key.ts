import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { RevokeRootKeyRequest, RevokeRootKeyResponseSchema } from "../../../gen/latchkey/v1/root_key_pb.js";
import { type Caller, requireManageable, type RootKeyRecord } from "../../domain/access.js";
import { failedPrecondition, notFound } from "../../domain/errors.js";
import { rootKeyToProto } from "../mapping/records.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import type { Audited } from "../../pipeline/procedures.js";
import { requireId } from "../requests.js";

export const revokeRootKey =
  (deps: ServiceDeps) =>
  async (request: RevokeRootKeyRequest, context: HandlerContext): Promise<Audited<MessageInitShape<typeof RevokeRootKeyResponseSchema>>> => {
    const caller = callerIn(context);
    const id = requireId("rk", request.id, "id");
    const target = await deps.store.rootKeys.find({ id, workspaceId: caller.workspaceId });
    if (!target) throw notFound("root key", id);
    requireManageable(caller, target);
    const ended = await endRootKey(deps, caller, id, { revokedAt: new Date(deps.now()) });
    return { response: { rootKey: rootKeyToProto(ended) }, audit: { targets: [id] }, changes: [{ rootKeyHash: ended.hash }] };
  };

/**
 * Revokes or sets the expiry of a live root key of the caller's workspace. Once the change naming
 * its digest is published, this instance stops accepting it at once; the others when the change feed tells them.
 */
export async function endRootKey(
  { store }: ServiceDeps,
  caller: Caller,
  id: string,
  changes: Partial<Pick<RootKeyRecord, "revokedAt" | "expiresAt" | "replacedBy">>,
): Promise<RootKeyRecord> {
  const match = { id, workspaceId: caller.workspaceId };
  const ended = await store.rootKeys.update({ ...match, revokedAt: null }, changes);
  if (!ended) {
    if (await store.rootKeys.find(match)) throw failedPrecondition(`root key ${id} is revoked already`, "ROOT_KEY_ENDED");
    throw notFound("root key", id);
  }
  return ended;
}
