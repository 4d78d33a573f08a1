import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CreateIdentityRequest, CreateIdentityResponseSchema } from "../../../gen/latchkey/v1/identity_pb.js";
import { validateExternalId, validateIdentitySettings } from "../../domain/identity.js";
import { newId } from "../../domain/ids.js";
import { identitySettingsFromProto, identityToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import type { Call } from "../guard.js";
import { requireMessage } from "../requests.js";

export const createIdentity =
  ({ store, now, random, changes }: ServiceDeps) =>
  async (request: CreateIdentityRequest, call: Call): Promise<MessageInitShape<typeof CreateIdentityResponseSchema>> => {
    const input = requireMessage(request.identity, "identity");
    validateExternalId(input.externalId);
    const settings = identitySettingsFromProto(input);
    validateIdentitySettings(settings);
    const at = now();
    const workspaceId = call.caller.workspaceId;
    const identity = { id: newId("idt", at, random), workspaceId, externalId: input.externalId, ...settings, createdAt: new Date(at), updatedAt: new Date(at) };
    call.targets.push(identity.id);
    call.summary = { externalId: identity.externalId, rateLimits: identity.rateLimits.length };
    await store.identities.insert(identity);
    await changes.publish({ workspaceId, externalId: identity.externalId });
    return { identity: identityToProto(identity) };
  };
