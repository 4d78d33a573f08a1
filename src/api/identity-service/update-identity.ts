import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { IdentitySchema, type UpdateIdentityRequest, type UpdateIdentityResponseSchema } from "../../../gen/latchkey/v1/identity_pb.js";
import { notFound } from "../../domain/errors.js";
import { IDENTITY_SETTING_FIELDS, validateIdentitySettings } from "../../domain/identity.js";
import { identitySettingsFromProto, identityToProto } from "../mapping/records.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import type { Audited } from "../../pipeline/procedures.js";
import { maskedFields, pick, requireId, requireMessage } from "../requests.js";

/** Keys of the identity see the new meta and limits on their next verification, on every instance within a second. */
export const updateIdentity =
  ({ store, now }: ServiceDeps) =>
  async (request: UpdateIdentityRequest, context: HandlerContext): Promise<Audited<MessageInitShape<typeof UpdateIdentityResponseSchema>>> => {
    const caller = callerIn(context);
    const input = requireMessage(request.identity, "identity");
    const id = requireId("idt", input.id, "identity.id");
    const fields = maskedFields(request.updateMask, IDENTITY_SETTING_FIELDS);
    // Only the masked fields are converted: the others are ignored, whatever they hold.
    const changes = pick(identitySettingsFromProto(create(IdentitySchema, pick(input, fields))), fields);
    validateIdentitySettings(changes);
    const workspaceId = caller.workspaceId;
    const updated = await store.identities.update({ id, workspaceId }, { ...changes, updatedAt: new Date(now()) });
    if (!updated) throw notFound("identity", id);
    return {
      response: { identity: identityToProto(updated) },
      audit: { targets: [id], summary: { fields: request.updateMask!.paths } },
      changes: [{ workspaceId, externalId: updated.externalId }],
    };
  };
