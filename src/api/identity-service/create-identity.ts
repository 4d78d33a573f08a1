import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { CreateIdentityRequest, CreateIdentityResponseSchema } from "../../../gen/latchkey/v1/identity_pb.js";
import { validateExternalId, validateIdentitySettings } from "../../domain/identity.js";
import { newId } from "../../domain/ids.js";
import { identitySettingsFromProto, identityToProto } from "../mapping/records.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import type { Audited } from "../../pipeline/procedures.js";
import { requireMessage } from "../requests.js";

export const createIdentity =
  ({ store, now, random }: ServiceDeps) =>
  async (request: CreateIdentityRequest, context: HandlerContext): Promise<Audited<MessageInitShape<typeof CreateIdentityResponseSchema>>> => {
    const caller = callerIn(context);
    const input = requireMessage(request.identity, "identity");
    validateExternalId(input.externalId);
    const settings = identitySettingsFromProto(input);
    validateIdentitySettings(settings);
    const at = now();
    const workspaceId = caller.workspaceId;
    const identity = { id: newId("idt", at, random), workspaceId, externalId: input.externalId, ...settings, createdAt: new Date(at), updatedAt: new Date(at) };
    await store.identities.insert(identity);
    return {
      response: { identity: identityToProto(identity) },
      audit: { targets: [identity.id], summary: { externalId: identity.externalId, rateLimits: identity.rateLimits.length } },
      changes: [{ workspaceId, externalId: identity.externalId }],
    };
  };
