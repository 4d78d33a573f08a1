import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { DeleteOverrideRequest, DeleteOverrideResponseSchema } from "../../../gen/latchkey/v1/ratelimit_pb.js";
import { overrideNotFound, overridesChangeTarget } from "../../domain/ratelimit.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import type { Audited } from "../../pipeline/procedures.js";

/** Every instance stops applying the override within the change feed's poll. */
export const deleteOverride =
  ({ store }: ServiceDeps) =>
  async (request: DeleteOverrideRequest, context: HandlerContext): Promise<Audited<MessageInitShape<typeof DeleteOverrideResponseSchema>>> => {
    const caller = callerIn(context);
    const workspaceId = caller.workspaceId;
    const deleted = await store.ratelimits.overrides.delete({ workspaceId, namespace: request.namespace, identifier: request.identifier });
    if (!deleted) throw overrideNotFound();
    return {
      response: {},
      audit: { targets: [deleted.id], summary: { namespace: deleted.namespace } },
      changes: [overridesChangeTarget(workspaceId, request.namespace)],
    };
  };
