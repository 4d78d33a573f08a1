import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { RotateRootKeyRequest, RotateRootKeyResponseSchema } from "../../../gen/latchkey/v1/root_key_pb.js";
import { requireManageable, rootKeyUsable } from "../../domain/access.js";
import { DomainError, failedPrecondition, notFound } from "../../domain/errors.js";
import { rootKeyToProto } from "../mapping/records.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import { afterChanges, type Audited } from "../../pipeline/procedures.js";
import { requireId } from "../requests.js";
import { issueRootKey } from "./issue-root-key.js";
import { endRootKey } from "./revoke-root-key.js";

/**
 * The new key is issued before the old one ends, so a failure in between leaves both working, never
 * neither; when ending the old one is refused, the new one is revoked before the refusal is answered.
 */
export const rotateRootKey =
  (deps: ServiceDeps) =>
  async (request: RotateRootKeyRequest, context: HandlerContext): Promise<Audited<MessageInitShape<typeof RotateRootKeyResponseSchema>>> => {
    const caller = callerIn(context);
    const id = requireId("rk", request.id, "id");
    const graceMs = Number(request.gracePeriodMs);
    const old = await deps.store.rootKeys.find({ id, workspaceId: caller.workspaceId });
    if (!old) throw notFound("root key", id);
    const at = deps.now();
    if (!rootKeyUsable(old, at)) throw failedPrecondition(`root key ${id} is revoked or expired`, "ROOT_KEY_ENDED");
    requireManageable(caller, old);
    const { rootKey, secret, change } = await issueRootKey(deps, {
      workspaceId: old.workspaceId,
      name: old.name,
      permissions: old.permissions,
      keyspaceIds: old.keyspaceIds,
      createdBy: caller.actor,
      expiresAt: old.expiresAt,
    });
    const ending = graceMs === 0 ? { revokedAt: new Date(at) } : { expiresAt: new Date(Math.min(at + graceMs, old.expiresAt?.getTime() ?? Infinity)) };
    const replaced = await afterChanges([change], () =>
      endRootKey(deps, caller, id, { ...ending, replacedBy: rootKey.id }).catch(async (error: unknown) => {
        // Refused (another rotation or a revocation ended the old key first): the new key was never handed out, so it must not stay usable.
        // Any other failure leaves the old key's state unknown, and both keys stay working.
        if (error instanceof DomainError && (error.kind === "failed_precondition" || error.kind === "not_found")) {
          await deps.store.rootKeys.update({ id: rootKey.id, workspaceId: rootKey.workspaceId, revokedAt: null }, { revokedAt: new Date(deps.now()) });
        }
        throw error;
      }),
    );
    return {
      response: { rootKey: rootKeyToProto(rootKey), secret, replaced: rootKeyToProto(replaced) },
      audit: { targets: [id, rootKey.id], summary: { gracePeriodMs: graceMs } },
      changes: [change, { rootKeyHash: replaced.hash }],
    };
  };
