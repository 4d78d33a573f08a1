import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CreateKeyspaceRequest, CreateKeyspaceResponseSchema } from "../../../gen/latchkey/v1/keyspace_pb.js";
import { newId } from "../../domain/ids.js";
import { keyspaceDefaults, validateKeyspaceSettings } from "../../domain/keyspace.js";
import { keyspaceSettingsFromProto, keyspaceToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import type { Call } from "../guard.js";
import { requireMessage } from "../requests.js";

export const createKeyspace =
  ({ store, now, random }: ServiceDeps) =>
  async (request: CreateKeyspaceRequest, call: Call): Promise<MessageInitShape<typeof CreateKeyspaceResponseSchema>> => {
    const settings = keyspaceDefaults(keyspaceSettingsFromProto(requireMessage(request.keyspace, "keyspace")));
    validateKeyspaceSettings(settings);
    const at = now();
    const keyspace = { id: newId("ks", at, random), workspaceId: call.caller.workspaceId, ...settings, createdAt: new Date(at), updatedAt: new Date(at) };
    call.targets.push(keyspace.id);
    call.summary = { ...settings };
    await store.keyspaces.insert(keyspace);
    return { keyspace: keyspaceToProto(keyspace) };
  };
