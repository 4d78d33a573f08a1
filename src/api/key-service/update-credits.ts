import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { CreditOperation, type UpdateCreditsRequest, type UpdateCreditsResponseSchema } from "../../../gen/latchkey/v1/key_pb.js";
import { type CreditsUpdate, validateCreditsUpdate } from "../../domain/credits.js";
import { invalidArgument } from "../../domain/errors.js";
import { keyToProto, refillFromProto } from "../mapping/keys.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import type { Audited } from "../../pipeline/procedures.js";
import { loadLiveKey, refuseKeyChange, requireId } from "../requests.js";
import { keyChanged } from "../../verify/change-feed.js";

const OPERATIONS = {
  [CreditOperation.SET]: "set",
  [CreditOperation.INCREMENT]: "increment",
  [CreditOperation.DECREMENT]: "decrement",
} as const;

/**
 * A new refill period starts now; every instance sees the new balance at the key's next
 * verification. A SET first brings back the shares instances hold (domain/credits.ts), so no
 * credit claimed before it is spent after it.
 */
export const updateCredits =
  ({ store, now, creditShares }: ServiceDeps) =>
  async (request: UpdateCreditsRequest, context: HandlerContext): Promise<Audited<MessageInitShape<typeof UpdateCreditsResponseSchema>>> => {
    const caller = callerIn(context);
    const id = requireId("key", request.keyId, "key_id");
    if (request.refill && request.removeRefill) throw invalidArgument("remove_refill", "cannot be set with refill");
    const at = now();
    const refill = request.refill ? { ...refillFromProto(request.refill, "refill"), lastRefillAt: new Date(at) } : undefined;
    const update: CreditsUpdate = {
      operation: OPERATIONS[request.operation as keyof typeof OPERATIONS],
      value: request.value === undefined ? null : Number(request.value),
      refill: request.removeRefill ? null : refill,
    };
    validateCreditsUpdate(update);
    await loadLiveKey(store, caller, id);
    if (update.operation === "set" && update.value !== null) await creditShares.recall(id);
    const updated = (await store.updateCredits(id, update)) ?? (await refuseKeyChange(store, caller, id));
    return {
      response: { key: keyToProto(updated, at) },
      audit: {
        targets: [id],
        summary: { operation: update.operation, value: update.value, refill: request.removeRefill ? "removed" : refill ? refill.period : "unchanged" },
      },
      changes: [keyChanged(updated)],
    };
  };
