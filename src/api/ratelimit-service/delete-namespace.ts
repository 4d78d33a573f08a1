import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { DeleteNamespaceRequest, DeleteNamespaceResponseSchema } from "../../../gen/latchkey/v1/ratelimit_pb.js";
import { notFound } from "../../domain/errors.js";
import { overridesChangeTarget } from "../../domain/ratelimit.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import type { Audited } from "../../pipeline/procedures.js";

/**
 * Overrides go first, then the namespace, then overrides once more: a retry after a failure in
 * between finishes the job, and a SetOverride racing the delete ends with its override and the
 * namespace (it makes the namespace again after its insert) or with neither (its override was
 * stored before the last sweep; the namespace may then stay, empty), never with an override whose
 * namespace is gone. Counts stay until they leave their windows, so deleting a namespace never
 * reopens its limits.
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
    await store.ratelimits.deleteOverrides(workspaceId, request.name);
    return {
      response: {},
      audit: { targets: [namespace.id], summary: { name: namespace.name, overrides } },
      changes: [overridesChangeTarget(workspaceId, request.name)],
    };
  };
