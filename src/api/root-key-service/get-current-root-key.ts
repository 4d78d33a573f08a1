import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { GetCurrentRootKeyResponseSchema } from "../../../gen/latchkey/v1/root_key_pb.js";
import { notFound } from "../../domain/errors.js";
import { callerIn } from "../../pipeline/context.js";
import type { ServiceDeps } from "../deps.js";
import { rootKeyToProto } from "../mapping/records.js";

/** The record of the root key that authenticated the call, read from the store so it is current. */
export const getCurrentRootKey =
  ({ store }: ServiceDeps) =>
  async (_request: unknown, context: HandlerContext): Promise<MessageInitShape<typeof GetCurrentRootKeyResponseSchema>> => {
    const caller = callerIn(context);
    const rootKey = await store.rootKeys.find({ id: caller.actor, workspaceId: caller.workspaceId });
    if (!rootKey) throw notFound("root key", caller.actor);
    return { rootKey: rootKeyToProto(rootKey) };
  };
