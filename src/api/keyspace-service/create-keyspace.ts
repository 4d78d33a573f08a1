import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CreateKeyspaceRequest, CreateKeyspaceResponseSchema } from "../../../gen/latchkey/v1/keyspace_pb.js";
import { newId } from "../../domain/ids.js";
import { keyspaceDefaults, validateKeyspaceSettings } from "../../domain/keyspace.js";
import { keyspaceSettingsFromProto, keyspaceToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import { requireMessage } from "../requests.js";

export const createKeyspace =
  ({ store, now, random }: ServiceDeps) =>
  async (request: CreateKeyspaceRequest): Promise<MessageInitShape<typeof CreateKeyspaceResponseSchema>> => {
    const settings = keyspaceDefaults(keyspaceSettingsFromProto(requireMessage(request.keyspace, "keyspace")));
    validateKeyspaceSettings(settings);
    const at = now();
    const keyspace = { id: newId("ks", at, random), ...settings, createdAt: new Date(at), updatedAt: new Date(at) };
    await store.insertKeyspace(keyspace);
    return { keyspace: keyspaceToProto(keyspace) };
  };
