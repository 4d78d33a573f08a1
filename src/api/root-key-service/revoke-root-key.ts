import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RevokeRootKeyRequest, RevokeRootKeyResponseSchema } from "../../../gen/latchkey/v1/root_key_pb.js";
import type { RootKeyRecord } from "../../domain/access.js";
import { failedPrecondition, notFound } from "../../domain/errors.js";
import { rootKeyToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import type { Call } from "../guard.js";
import { requireId } from "../requests.js";

export const revokeRootKey =
  (deps: ServiceDeps) =>
  async (request: RevokeRootKeyRequest, call: Call): Promise<MessageInitShape<typeof RevokeRootKeyResponseSchema>> => {
    const id = requireId("rk", request.id, "id");
    call.targets.push(id);
    return { rootKey: rootKeyToProto(await endRootKey(deps, call, id, { revokedAt: new Date(deps.now()) })) };
  };

/**
 * Revokes or sets the expiry of a live root key of the caller's workspace. This instance stops
 * accepting it at once; the others within a second, when their cached copy lapses.
 */
export async function endRootKey(
  { store, access }: ServiceDeps,
  call: Call,
  id: string,
  changes: Partial<Pick<RootKeyRecord, "revokedAt" | "expiresAt" | "replacedBy">>,
): Promise<RootKeyRecord> {
  const match = { id, workspaceId: call.caller.workspaceId };
  const ended = await store.rootKeys.update({ ...match, revokedAt: null }, changes);
  if (!ended) {
    if (await store.rootKeys.find(match)) throw failedPrecondition(`root key ${id} is revoked already`);
    throw notFound("root key", id);
  }
  access.forget(ended.hash);
  return ended;
}
