import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { KeySchema, type UpdateKeyRequest, type UpdateKeyResponseSchema } from "../../../gen/latchkey/v1/key_pb.js";
import { KEY_ATTRIBUTE_FIELDS, validateKeyAttributes } from "../../domain/key.js";
import { keyAttributesFromProto, keyToProto } from "../mapping/keys.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import { afterChanges, type Audited } from "../../pipeline/procedures.js";
import { linkIdentity, registerPermissions, requireIdentityLink, requireRoles } from "../references.js";
import { loadLiveKey, maskedFields, pick, refuseKeyChange, requireId, requireMessage } from "../requests.js";
import { keyChanged } from "../../verify/change-feed.js";
import type { KeyChangeTarget } from "../../store/store.js";

/**
 * Patches the masked fields; a masked field left unset goes back to its default. Rules that span
 * fields (a subscription id needs the marketplace type) are checked on the key as it will be.
 * Credits given this way are a SET of the balance, with its guarantee (docs/credits.md).
 */
export const updateKey =
  (deps: ServiceDeps) =>
  async (request: UpdateKeyRequest, context: HandlerContext): Promise<Audited<MessageInitShape<typeof UpdateKeyResponseSchema>>> => {
    const caller = callerIn(context);
    const { store, now, random, creditShares } = deps;
    const input = requireMessage(request.key, "key");
    const id = requireId("key", input.id, "key.id");
    const fields = maskedFields(request.updateMask, KEY_ATTRIBUTE_FIELDS);
    // Only the masked fields are converted: the others are ignored, whatever they hold.
    const proposed = pick(keyAttributesFromProto(create(KeySchema, pick(input, fields))), fields);
    const current = await loadLiveKey(store, caller, id);
    if (current.revokedAt) return refuseKeyChange(store, caller, id);

    const at = now();
    const next = validateKeyAttributes({ ...current, ...proposed }, { now: at, changed: fields });
    const workspaceId = current.workspaceId;
    if (fields.has("roles")) await requireRoles(store, workspaceId, next.roles, "key.roles");
    if (fields.has("externalId")) requireIdentityLink(caller, next.externalId, request.createIdentity);
    // A new balance replaces the shares instances hold, as UpdateCredits' SET does, so it first brings them back (before anything is written): no unit claimed before it is spent after it.
    if (fields.has("credits") && next.credits) await creditShares.recall(id);
    if (fields.has("permissions")) await registerPermissions(store, workspaceId, next.permissions, at, random);
    const identityId = fields.has("externalId") ? await linkIdentity(deps, caller, next.externalId, request.createIdentity, at) : undefined;
    const identityChanges: KeyChangeTarget[] = identityId ? [{ workspaceId, externalId: next.externalId }] : [];
    const changes = { ...pick(next, fields), updatedAt: new Date(at) };
    if (changes.credits?.refill) {
      changes.credits.refill.lastRefillAt = current.credits?.refill?.lastRefillAt ?? new Date(at);
    }
    const updated = await afterChanges(
      identityChanges,
      async () => (await store.updateKey(id, changes, { notDeleted: true, notRevoked: true })) ?? (await refuseKeyChange(store, caller, id)),
    );
    return {
      response: { key: keyToProto(updated, at) },
      audit: { targets: [id, ...(identityId ? [identityId] : [])], summary: { fields: request.updateMask!.paths } },
      changes: [...identityChanges, keyChanged(updated)],
    };
  };
