import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { DeleteIdentityRequest, DeleteIdentityResponseSchema } from "../../../gen/latchkey/v1/identity_pb.js";
import { failedPrecondition, notFound } from "../../domain/errors.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import type { Audited } from "../../pipeline/procedures.js";
import { requireId } from "../requests.js";

/** Keys are matched to identities by external id, so a forced delete leaves the keys whole: they just stop sharing limits. */
export const deleteIdentity =
  ({ store }: ServiceDeps) =>
  async (request: DeleteIdentityRequest, context: HandlerContext): Promise<Audited<MessageInitShape<typeof DeleteIdentityResponseSchema>>> => {
    const caller = callerIn(context);
    const id = requireId("idt", request.id, "id");
    const workspaceId = caller.workspaceId;
    const identity = await store.identities.find({ id, workspaceId });
    if (!identity) throw notFound("identity", id);
    if (!request.force) {
      const keys = await store.countLiveKeysOfIdentity(workspaceId, identity.externalId);
      if (keys > 0) throw failedPrecondition(`identity ${id} still has ${keys} keys. Delete them first or set force`);
    }
    if (!(await store.identities.delete({ id, workspaceId }))) throw notFound("identity", id);
    return { response: {}, audit: { targets: [id], summary: { force: request.force } }, changes: [{ workspaceId, externalId: identity.externalId }] };
  };
