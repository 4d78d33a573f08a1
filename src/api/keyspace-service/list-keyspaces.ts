import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ListKeyspacesRequest, ListKeyspacesResponseSchema } from "../../../gen/latchkey/v1/keyspace_pb.js";
import { keyspaceToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import { fetchPage, pageRequest } from "../pagination.js";

export const listKeyspaces =
  ({ store }: ServiceDeps) =>
  async (request: ListKeyspacesRequest): Promise<MessageInitShape<typeof ListKeyspacesResponseSchema>> => {
    const { items, nextPageToken } = await fetchPage(pageRequest(request.pageSize, request.pageToken, "ks"), (page) =>
      store.listKeyspaces(page),
    );
    return { keyspaces: items.map(keyspaceToProto), nextPageToken };
  };
