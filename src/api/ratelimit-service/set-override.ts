import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { SetOverrideRequest, SetOverrideResponseSchema } from "../../../gen/latchkey/v1/ratelimit_pb.js";
import { DomainError } from "../../domain/errors.js";
import { newId } from "../../domain/ids.js";
import { MAX_OVERRIDES_PER_NAMESPACE, overridesChangeTarget, type RatelimitOverrideRecord, tooManyOverrides } from "../../domain/ratelimit.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import type { Audited } from "../../pipeline/procedures.js";
import { overrideToProto } from "./convert.js";

/** Every instance applies the override to its next Limit within the change feed's poll. */
export const setOverride =
  ({ store, now, random }: ServiceDeps) =>
  async (request: SetOverrideRequest, context: HandlerContext): Promise<Audited<MessageInitShape<typeof SetOverrideResponseSchema>>> => {
    const caller = callerIn(context);
    const input = request.override!;
    const workspaceId = caller.workspaceId;
    const at = now();
    const match = { workspaceId, namespace: input.namespace, identifier: input.identifier };
    const settings = { limit: Number(input.limit), durationMs: Number(input.durationMs), updatedAt: new Date(at) };
    let override = await store.ratelimits.overrides.update(match, settings);
    if (!override) {
      const held = await store.ratelimits.overrides.list({ workspaceId, namespace: input.namespace }, { limit: MAX_OVERRIDES_PER_NAMESPACE });
      if (held.length >= MAX_OVERRIDES_PER_NAMESPACE) throw tooManyOverrides();
      const namespace = [{ id: newId("rlns", at, random), workspaceId, name: input.namespace, createdAt: new Date(at) }];
      await store.ratelimits.namespaces.insertMissing(namespace);
      const record: RatelimitOverrideRecord = { id: newId("rlov", at, random), ...match, ...settings, createdAt: new Date(at) };
      override = await insertOrUpdate(store.ratelimits.overrides, record, () => store.ratelimits.overrides.update(match, settings));
      // A DeleteNamespace that removed the namespace between the two writes left this override: the namespace comes back, as if the delete came first.
      await store.ratelimits.namespaces.insertMissing(namespace);
    }
    return {
      response: { override: overrideToProto(override) },
      audit: { targets: [override.id], summary: { namespace: override.namespace, limit: override.limit, durationMs: override.durationMs } },
      changes: [overridesChangeTarget(workspaceId, input.namespace)],
    };
  };

/** Two first SetOverrides of one identifier race to insert: the loser updates what the winner made. */
async function insertOrUpdate(
  table: ServiceDeps["store"]["ratelimits"]["overrides"],
  record: RatelimitOverrideRecord,
  update: () => Promise<RatelimitOverrideRecord | null>,
): Promise<RatelimitOverrideRecord> {
  try {
    await table.insert(record);
    return record;
  } catch (error) {
    if (!(error instanceof DomainError) || error.kind !== "already_exists") throw error;
    const updated = await update();
    if (!updated) throw error;
    return updated;
  }
}
