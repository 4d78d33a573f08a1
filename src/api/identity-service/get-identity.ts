import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { GetIdentityRequest, GetIdentityResponseSchema } from "../../../gen/latchkey/v1/identity_pb.js";
import { invalidArgument, notFound } from "../../domain/errors.js";
import { validateExternalId } from "../../domain/identity.js";
import { identityToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import { requireId } from "../requests.js";

export const getIdentity =
  ({ store }: ServiceDeps) =>
  async (request: GetIdentityRequest, context: HandlerContext): Promise<MessageInitShape<typeof GetIdentityResponseSchema>> => {
    const caller = callerIn(context);
    if (Boolean(request.id) === Boolean(request.externalId)) throw invalidArgument("id", "or external_id must be set, not both");
    const workspaceId = caller.workspaceId;
    if (request.id) requireId("idt", request.id, "id");
    else validateExternalId(request.externalId, "external_id");
    const match = request.id ? { id: request.id, workspaceId } : { externalId: request.externalId, workspaceId };
    const identity = await store.identities.find(match);
    if (!identity) throw notFound("identity", request.id || "with this external id");
    return { identity: identityToProto(identity) };
  };
