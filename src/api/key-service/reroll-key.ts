import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { RerollKeyRequest, RerollKeyResponseSchema } from "../../../gen/latchkey/v1/key_pb.js";
import { failedPrecondition } from "../../domain/errors.js";
import { issueSecret } from "../../domain/secret.js";
import { keyToProto } from "../mapping/keys.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import type { Audited } from "../../pipeline/procedures.js";
import { loadKeyspace, loadLiveKey, refuseKeyChange, requireId } from "../requests.js";
import { sealIfRecoverable } from "./recoverable.js";
import { keyChanged } from "../../verify/change-feed.js";

/**
 * The secret is replaced in the key's own record, so everything counted against the key (credits,
 * rate limits, usage) is shared by the old and the new secret while both work.
 */
export const rerollKey =
  ({ store, now, random, vault }: ServiceDeps) =>
  async (request: RerollKeyRequest, context: HandlerContext): Promise<Audited<MessageInitShape<typeof RerollKeyResponseSchema>>> => {
    const caller = callerIn(context);
    const id = requireId("key", request.id, "id");
    const current = await loadLiveKey(store, caller, id);
    if (current.revokedAt) await refuseKeyChange(store, caller, id);
    const keyspace = await loadKeyspace(store, caller, current.keyspaceId);
    const at = now();
    const issued = issueSecret(current.prefix, keyspace.defaultByteLength, keyspace.startLength, random);
    const previous = { hash: current.hash, start: current.start, expiresAt: new Date(at + Number(request.gracePeriodMs)) };
    const next = { hash: issued.digest, start: issued.start, sealedSecret: sealIfRecoverable(vault, keyspace, id, issued.secret) };
    const rerolled = await store.replaceSecret(id, current.hash, next, previous, new Date(at));
    if (!rerolled) {
      const now = await loadLiveKey(store, caller, id);
      if (now.revokedAt) await refuseKeyChange(store, caller, id);
      throw failedPrecondition(`key ${id} was rerolled by another call at the same time. Read it and try again`);
    }
    return {
      response: { key: keyToProto(rerolled, at), secret: issued.secret },
      audit: { targets: [id], summary: { start: issued.start, previousStart: current.start, gracePeriodMs: Number(request.gracePeriodMs) } },
      changes: [keyChanged(rerolled)],
    };
  };
