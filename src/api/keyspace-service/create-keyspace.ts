import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { CreateKeyspaceRequest, CreateKeyspaceResponseSchema } from "../../../gen/latchkey/v1/keyspace_pb.js";
import { newId } from "../../domain/ids.js";
import { keyspaceDefaults, validateKeyspaceSettings } from "../../domain/keyspace.js";
import { keyspaceSettingsFromProto, keyspaceToProto } from "../mapping/records.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import type { Audited } from "../../pipeline/procedures.js";
import { checkRecoverable } from "../key-service/recoverable.js";
import { requireMessage } from "../requests.js";

export const createKeyspace =
  ({ store, now, random, vault }: ServiceDeps) =>
  async (request: CreateKeyspaceRequest, context: HandlerContext): Promise<Audited<MessageInitShape<typeof CreateKeyspaceResponseSchema>>> => {
    const caller = callerIn(context);
    const settings = keyspaceDefaults(keyspaceSettingsFromProto(requireMessage(request.keyspace, "keyspace")));
    validateKeyspaceSettings(settings);
    checkRecoverable(vault, settings);
    const at = now();
    const keyspace = { id: newId("ks", at, random), workspaceId: caller.workspaceId, ...settings, createdAt: new Date(at), updatedAt: new Date(at) };
    await store.keyspaces.insert(keyspace);
    return { response: { keyspace: keyspaceToProto(keyspace) }, audit: { targets: [keyspace.id], summary: { ...settings } } };
  };
