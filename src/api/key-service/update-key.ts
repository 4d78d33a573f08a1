import type { MessageInitShape } from "@bufbuild/protobuf";
import type { UpdateKeyRequest, UpdateKeyResponseSchema } from "../../../gen/latchkey/v1/key_pb.js";
import { KEY_ATTRIBUTE_FIELDS, validateKeyAttributes } from "../../domain/key.js";
import { keyAttributesFromProto, keyToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import { loadLiveKey, maskedFields, pick, refuseKeyChange, requireId, requireMessage } from "../requests.js";

/**
 * Patches the masked fields; a masked field left unset goes back to its default. Rules that span
 * fields (a subscription id needs the marketplace type) are checked on the key as it will be.
 */
export const updateKey =
  ({ store, now, changes: feed }: ServiceDeps) =>
  async (request: UpdateKeyRequest): Promise<MessageInitShape<typeof UpdateKeyResponseSchema>> => {
    const input = requireMessage(request.key, "key");
    const id = requireId("key", input.id, "key.id");
    const fields = maskedFields(request.updateMask, KEY_ATTRIBUTE_FIELDS);
    const proposed = pick(keyAttributesFromProto(input), fields);
    const current = await loadLiveKey(store, id);
    if (current.revokedAt) return refuseKeyChange(store, id);

    const at = now();
    const next = validateKeyAttributes({ ...current, ...proposed }, { now: at, changed: fields });
    const changes = { ...pick(next, fields), updatedAt: new Date(at) };
    if (changes.credits?.refill) {
      changes.credits.refill.lastRefillAt = current.credits?.refill?.lastRefillAt ?? new Date(at);
    }
    const updated = (await store.updateKey(id, changes, { notDeleted: true, notRevoked: true })) ?? (await refuseKeyChange(store, id));
    await feed.publish({ keyId: id, hash: updated.hash });
    return { key: keyToProto(updated, at) };
  };
