import type { FieldMask } from "@bufbuild/protobuf/wkt";
import { type Caller, mayManage, reachesKeyspace } from "../domain/access.js";
import { failedPrecondition, invalidArgument, notFound } from "../domain/errors.js";
import { ID_KINDS, isId, type IdKind } from "../domain/ids.js";
import type { KeyRecord } from "../domain/key.js";
import type { KeyspaceRecord } from "../domain/keyspace.js";
import type { Store } from "../store/store.js";

/** Request checks shared by the handlers. */

const ID_NAMES: Record<IdKind, string> = {
  ws: "a workspace",
  ks: "a keyspace",
  key: "a key",
  rk: "a root key",
  idt: "an identity",
  role: "a role",
  perm: "a permission",
  evt: "an audit event",
  rlns: "a rate-limit namespace",
  rlov: "a rate-limit override",
};

export function requireId(kind: IdKind, value: string, field: string): string {
  if (!value) throw invalidArgument(field, "must not be empty");
  if (!isId(kind, value)) throw invalidArgument(field, `is not ${ID_NAMES[kind]} id`);
  return value;
}

export function requireMessage<T>(value: T | undefined, field: string): T {
  if (value === undefined) throw invalidArgument(field, "must be set");
  return value;
}

/**
 * The record fields an update mask names, given each updatable field's record name and API path; a
 * path names a whole field. The one reading of `update_mask`: the handler changes these fields, and
 * the validate stage holds the request to the rules of these fields only.
 */
export function maskedFields<F extends string>(mask: FieldMask | undefined, updatable: Record<F, string>): Set<F> {
  const paths = mask?.paths ?? [];
  if (paths.length === 0) throw invalidArgument("update_mask", "must name at least one field");
  const byPath = new Map(Object.entries(updatable).map(([field, path]) => [path as string, field as F]));
  return new Set(
    paths.map((path, i) => {
      const field = byPath.get(path);
      if (field === undefined) {
        throw invalidArgument(`update_mask.paths[${i}]`, "is not an updatable field");
      }
      return field;
    }),
  );
}

export function pick<T extends object, F extends keyof T>(source: T, fields: Iterable<F>): Pick<T, F> {
  const picked = {} as Pick<T, F>;
  for (const field of fields) picked[field] = source[field];
  return picked;
}

/**
 * A record the caller cannot reach — another workspace's, or outside the keyspaces its root key
 * is narrowed to — is answered exactly like one that does not exist. Soft-deleted keys are gone too.
 */
export async function loadLiveKey(store: Store, caller: Caller, id: string, options: { softDeleted?: boolean } = {}): Promise<KeyRecord> {
  const key = reachableKey(caller, await store.getKey(id), options);
  if (!key) throw notFound("key", id);
  return key;
}

/** The key if the caller may see it: in its workspace, within its keyspaces, and not deleted (unless asked). */
export function reachableKey(caller: Caller, key: KeyRecord | null, options: { softDeleted?: boolean } = {}): KeyRecord | null {
  const reachable = key && key.workspaceId === caller.workspaceId && reachesKeyspace(caller, key.keyspaceId);
  return reachable && (!key.deletedAt || options.softDeleted) ? key : null;
}

export async function loadKeyspace(store: Store, caller: Caller, id: string): Promise<KeyspaceRecord> {
  const keyspace = reachesKeyspace(caller, id) ? await store.keyspaces.find({ id, workspaceId: caller.workspaceId }) : null;
  if (!keyspace) throw notFound("keyspace", id);
  return keyspace;
}

/** A guarded key update matches nothing only when the key is gone or revoked: says which. */
export async function refuseKeyChange(store: Store, caller: Caller, id: string): Promise<never> {
  await loadLiveKey(store, caller, id);
  throw failedPrecondition(`key ${id} is revoked and can no longer be changed`, "KEY_REVOKED");
}

/**
 * Refuses, as NOT_FOUND, a record among `ids` the caller cannot reach now: a key or keyspace outside
 * its workspace or keyspaces, a root key it could not have granted, or (to a caller narrowed to
 * keyspaces) anything the whole workspace shares. The records a retried request names pass this
 * before its kept answer is shown, so a replay is authorized as a fresh call would be. A key
 * deleted since (or gone) still counts as the caller's when its keyspace would.
 */
export async function requireReachable(store: Store, caller: Caller, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    if (!(await reaches(store, caller, id))) throw notFound(ID_NAMES[ID_KINDS.find((kind) => isId(kind, id))!].replace(/^an? /, ""), id);
  }
}

async function reaches(store: Store, caller: Caller, id: string): Promise<boolean> {
  if (isId("ks", id)) return reachesKeyspace(caller, id);
  if (isId("key", id)) {
    const key = await store.getKey(id);
    return key ? reachableKey(caller, key, { softDeleted: true }) !== null : caller.keyspaceIds === undefined;
  }
  if (isId("rk", id)) {
    const rootKey = await store.rootKeys.find({ id, workspaceId: caller.workspaceId });
    return rootKey ? mayManage(caller, rootKey) : caller.keyspaceIds === undefined;
  }
  return caller.keyspaceIds === undefined;
}
