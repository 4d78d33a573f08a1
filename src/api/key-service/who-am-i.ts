import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { WhoAmIRequest, WhoAmIResponseSchema } from "../../../gen/latchkey/v1/key_pb.js";
import { DomainError } from "../../domain/errors.js";
import { digestSecret } from "../../domain/secret.js";
import { keyToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import { reachableKey } from "../requests.js";

/**
 * Looks the secret up by its digest among the caller's workspace's keys, in one read whether found
 * or not: no format check, no verdict, nothing spent or counted.
 */
export const whoAmI =
  ({ store, now }: ServiceDeps) =>
  async (request: WhoAmIRequest, context: HandlerContext): Promise<MessageInitShape<typeof WhoAmIResponseSchema>> => {
    const caller = callerIn(context);
    const key = reachableKey(caller, await store.findKeyByHash(caller.workspaceId, digestSecret(request.key)));
    if (!key) throw new DomainError("not_found", "no key this root key may read has this secret", { metadata: { resource: "key" } });
    return { key: keyToProto(key, now()) };
  };
