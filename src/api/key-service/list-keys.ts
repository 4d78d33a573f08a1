import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { ListKeysRequest, ListKeysResponseSchema } from "../../../gen/latchkey/v1/key_pb.js";
import { keyStatusFromProto, keyToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import { fetchPage, pageRequest } from "../pagination.js";
import { callerIn } from "../../pipeline/context.js";
import { loadKeyspace, requireId } from "../requests.js";
import { revealedSecret } from "./recoverable.js";

/** Empty filter fields match everything. */
export const listKeys =
  ({ store, now, vault }: ServiceDeps) =>
  async (request: ListKeysRequest, context: HandlerContext): Promise<MessageInitShape<typeof ListKeysResponseSchema>> => {
    const caller = callerIn(context);
    const keyspaceId = requireId("ks", request.keyspaceId, "keyspace_id");
    const status = keyStatusFromProto(request.status, "status");
    const page = pageRequest(request.pageSize, request.pageToken, "key");
    await loadKeyspace(store, caller, keyspaceId);
    const at = now();
    const filter = {
      keyspaceId,
      ownerId: request.ownerId || undefined,
      externalId: request.externalId || undefined,
      status,
      now: at,
    };
    const { items, nextPageToken } = await fetchPage(page, (p) => store.listKeys(filter, p));
    return { keys: items.map((key) => keyToProto(key, at, request.decrypt ? revealedSecret(vault, key) : "")), nextPageToken };
  };
