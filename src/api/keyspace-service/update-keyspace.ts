import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { UpdateKeyspaceRequest, UpdateKeyspaceResponseSchema } from "../../../gen/latchkey/v1/keyspace_pb.js";
import { notFound } from "../../domain/errors.js";
import { KEYSPACE_SETTING_FIELDS, keyspaceDefaults, validateKeyspaceSettings } from "../../domain/keyspace.js";
import { keyspaceSettingsFromProto, keyspaceToProto } from "../mapping/records.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import type { Audited } from "../../pipeline/procedures.js";
import { checkRecoverable } from "../key-service/recoverable.js";
import { loadKeyspace, maskedFields, pick, requireId, requireMessage } from "../requests.js";

/** A masked field left unset in the request goes back to its default. */
export const updateKeyspace =
  ({ store, now, vault }: ServiceDeps) =>
  async (request: UpdateKeyspaceRequest, context: HandlerContext): Promise<Audited<MessageInitShape<typeof UpdateKeyspaceResponseSchema>>> => {
    const caller = callerIn(context);
    const input = requireMessage(request.keyspace, "keyspace");
    const id = requireId("ks", input.id, "keyspace.id");
    const fields = maskedFields(request.updateMask, KEYSPACE_SETTING_FIELDS);
    const changes = pick(keyspaceDefaults(keyspaceSettingsFromProto(input)), fields);
    validateKeyspaceSettings(changes);
    checkRecoverable(vault, changes);
    await loadKeyspace(store, caller, id);
    const updated = await store.keyspaces.update({ id, workspaceId: caller.workspaceId }, { ...changes, updatedAt: new Date(now()) });
    if (!updated) throw notFound("keyspace", id);
    return { response: { keyspace: keyspaceToProto(updated) }, audit: { targets: [id], summary: { ...changes } } };
  };
