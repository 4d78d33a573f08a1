import type { FieldMask } from "@bufbuild/protobuf/wkt";
import { failedPrecondition, invalidArgument, notFound } from "../domain/errors.js";
import { isId, type IdKind } from "../domain/ids.js";
import type { KeyRecord } from "../domain/key.js";
import type { KeyspaceRecord } from "../domain/keyspace.js";
import type { Store } from "../store/store.js";

/** Request checks shared by the handlers. */

const ID_NAMES: Record<IdKind, string> = { key: "key", ks: "keyspace" };

export function requireId(kind: IdKind, value: string, field: string): string {
  if (!value) throw invalidArgument(field, "must not be empty");
  if (!isId(kind, value)) throw invalidArgument(field, `is not a ${ID_NAMES[kind]} id`);
  return value;
}

export function requireMessage<T>(value: T | undefined, field: string): T {
  if (value === undefined) throw invalidArgument(field, "must be set");
  return value;
}

/** The record fields an update mask names, given each updatable field's record name and API path. */
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

/** Soft-deleted keys are gone as far as callers can tell. */
export async function loadLiveKey(store: Store, id: string): Promise<KeyRecord> {
  const key = await store.getKey(id);
  if (!key || key.deletedAt) throw notFound("key", id);
  return key;
}

export async function loadKeyspace(store: Store, id: string): Promise<KeyspaceRecord> {
  const keyspace = await store.getKeyspace(id);
  if (!keyspace) throw notFound("keyspace", id);
  return keyspace;
}

/** A guarded key update matches nothing only when the key is gone or revoked: says which. */
export async function refuseKeyChange(store: Store, id: string): Promise<never> {
  await loadLiveKey(store, id);
  throw failedPrecondition(`key ${id} is revoked and can no longer be changed`);
}
