import type { HandlerContext } from "@connectrpc/connect";
import type { Key } from "../../../gen/latchkey/v1/key_pb.js";
import { checkKeySize } from "../../domain/key-field-checks.js";
import { applyGrantChange, checkPermissionNames, checkRoleNames, type GrantChange, type GrantKind, MAX_KEY_ROLES, MAX_PERMISSIONS } from "../../domain/rbac.js";
import { invalidArgument } from "../../domain/errors.js";
import { keyToProto } from "../mapping/keys.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import type { Audited } from "../../pipeline/procedures.js";
import { registerPermissions, requireRoles } from "../references.js";
import { loadLiveKey, refuseKeyChange, requireId } from "../requests.js";
import { keyChanged } from "../../verify/change-feed.js";

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
  ({ store, now, random }: ServiceDeps) =>
  async (request: GrantsRequest, context: HandlerContext): Promise<Audited<{ key: Key }>> => {
    const caller = callerIn(context);
    const id = requireId("key", request.keyId, "key_id");
    if (kind === "roles") checkRoleNames("names", request.names);
    else checkPermissionNames("names", request.names);
    const current = await loadLiveKey(store, caller, id);
    if (current.revokedAt) return refuseKeyChange(store, caller, id);
    const at = now();
    if (change !== "remove") {
      const names = applyGrantChange(current[kind], change, request.names);
      const most = kind === "roles" ? MAX_KEY_ROLES : MAX_PERMISSIONS;
      if (names.length > most) throw invalidArgument("names", `would give the key more than ${most} ${kind}`);
      checkKeySize("names", { ...current, [kind]: names });
      // Registered only once every check has passed, so a refused call leaves no names behind.
      if (kind === "roles") await requireRoles(store, current.workspaceId, request.names, "names");
      else await registerPermissions(store, current.workspaceId, request.names, at, random);
    }
    const updated = (await store.changeKeyGrants(id, kind, change, request.names, new Date(at))) ?? (await refuseKeyChange(store, caller, id));
    return { response: { key: keyToProto(updated, at) }, audit: { targets: [id], summary: { names: request.names } }, changes: [keyChanged(updated)] };
  };
