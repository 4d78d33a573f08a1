import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { DeleteNamespaceRequest, DeleteNamespaceResponseSchema } from "../../../gen/latchkey/v1/ratelimit_pb.js";
import { notFound } from "../../domain/errors.js";
import { overridesChangeTarget } from "../../domain/ratelimit.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import type { Audited } from "../../pipeline/procedures.js";

/**
 * Overrides go first, then the namespace: a retry after a failure in between finishes the job.
 * Counts stay until they leave their windows, so deleting a namespace never reopens its limits.
 */
export const deleteNamespace =
  ({ store }: ServiceDeps) =>
  async (request: DeleteNamespaceRequest, context: HandlerContext): Promise<Audited<MessageInitShape<typeof DeleteNamespaceResponseSchema>>> => {
    const caller = callerIn(context);
    const workspaceId = caller.workspaceId;
    const namespace = await store.ratelimits.namespaces.find({ workspaceId, name: request.name });
    if (!namespace) throw notFound("rate-limit namespace", request.name);
    const overrides = await store.ratelimits.deleteOverrides(workspaceId, request.name);
    await store.ratelimits.namespaces.delete({ id: namespace.id, workspaceId });
    return {
      response: {},
      audit: { targets: [namespace.id], summary: { name: namespace.name, overrides } },
      changes: [overridesChangeTarget(workspaceId, request.name)],
    };
  };
