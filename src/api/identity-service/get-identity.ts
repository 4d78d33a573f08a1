import type { MessageInitShape } from "@bufbuild/protobuf";
import type { GetIdentityRequest, GetIdentityResponseSchema } from "../../../gen/latchkey/v1/identity_pb.js";
import { invalidArgument, notFound } from "../../domain/errors.js";
import { validateExternalId } from "../../domain/identity.js";
import { identityToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import type { Call } from "../guard.js";
import { requireId } from "../requests.js";

export const getIdentity =
  ({ store }: ServiceDeps) =>
  async (request: GetIdentityRequest, call: Call): Promise<MessageInitShape<typeof GetIdentityResponseSchema>> => {
    if (Boolean(request.id) === Boolean(request.externalId)) throw invalidArgument("id", "or external_id must be set, not both");
    const workspaceId = call.caller.workspaceId;
    const identity = request.id
      ? await store.identities.find({ id: requireId("idt", request.id, "id"), workspaceId })
      : (validateExternalId(request.externalId, "external_id"), await store.identities.find({ externalId: request.externalId, workspaceId }));
    if (!identity) throw notFound("identity", request.id || "with this external id");
    return { identity: identityToProto(identity) };
  };
