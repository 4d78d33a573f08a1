import type { Key } from "../../../gen/latchkey/v1/key_pb.js";
import { checkPermissionNames, checkRoleNames, type GrantChange, type GrantKind, MAX_KEY_ROLES } from "../../domain/rbac.js";
import { invalidArgument } from "../../domain/errors.js";
import { keyToProto } from "../convert.js";
import type { ServiceDeps } from "../deps.js";
import type { Call } from "../guard.js";
import { registerPermissions, requireRoles } from "../references.js";
import { loadLiveKey, refuseKeyChange, requireId } from "../requests.js";

/** The request and response of every role and permission assignment have the same shape. */
interface GrantsRequest {
  keyId: string;
  names: string[];
}

/**
 * Adds, removes or sets a key's roles or direct permissions in one atomic update, so concurrent
 * assignments never lose each other's names; repeating a call changes nothing more.
 */
export const changeKeyGrants =
  (kind: GrantKind, change: GrantChange) =>
  ({ store, now, random, changes }: ServiceDeps) =>
  async (request: GrantsRequest, call: Call): Promise<{ key: Key }> => {
    const id = requireId("key", request.keyId, "key_id");
    if (kind === "roles") checkRoleNames("names", request.names);
    else checkPermissionNames("names", request.names);
    call.targets.push(id);
    call.summary = { names: request.names };
    const current = await loadLiveKey(store, call, id);
    if (current.revokedAt) return refuseKeyChange(store, call, id);
    const at = now();
    if (change !== "remove") {
      if (kind === "roles") await requireRoles(store, current.workspaceId, request.names, "names");
      else await registerPermissions(store, current.workspaceId, request.names, at, random);
    }
    if (kind === "roles" && change === "add" && new Set([...current.roles, ...request.names]).size > MAX_KEY_ROLES) {
      throw invalidArgument("names", `would give the key more than ${MAX_KEY_ROLES} roles`);
    }
    const updated = (await store.changeKeyGrants(id, kind, change, request.names, new Date(at))) ?? (await refuseKeyChange(store, call, id));
    await changes.publish({ keyId: id, hash: updated.hash });
    return { key: keyToProto(updated, at) };
  };
