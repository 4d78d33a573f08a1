import { beyondKeyspaces, type Caller, requirePermission } from "../domain/access.js";
import { DomainError } from "../domain/errors.js";
import { newId } from "../domain/ids.js";
import type { RandomSource } from "../domain/base58.js";
import type { Store } from "../store/store.js";
import type { ServiceDeps } from "./deps.js";

/** What keys and roles refer to by name: roles that must exist, permissions registered on first use, identities. */

/** Every role named must exist in the workspace. */
export async function requireRoles(store: Store, workspaceId: string, names: readonly string[], field: string) {
  if (names.length === 0) return;
  const roles = await store.roles.list({ workspaceId, name: [...new Set(names)] }, { limit: names.length });
  const found = new Set(roles.map((role) => role.name));
  const missing = names.findIndex((name) => !found.has(name));
  if (missing !== -1)
    throw new DomainError("not_found", `${field}[${missing}] names no role of this workspace`, { metadata: { resource: "role", name: names[missing]! } });
}

/**
 * Adds the permissions the workspace does not know yet to its list; safe to race. Called once every
 * check that can refuse the call has passed, so a refused call leaves no names behind.
 */
export async function registerPermissions(store: Store, workspaceId: string, names: readonly string[], at: number, random?: RandomSource) {
  if (names.length === 0) return;
  const createdAt = new Date(at);
  await store.permissions.insertMissing(names.map((name) => ({ id: newId("perm", at, random), workspaceId, name, description: "", createdAt })));
}

/**
 * Refuses an external id the caller may not give a key, before the call writes anything: creating
 * the identity needs identity.create, and a root key narrowed to keyspaces gives no key an external
 * id at all. The id names an identity of the workspace, whose meta and limits are shared with keys
 * outside those keyspaces, and a key carrying it joins that identity whenever it comes to exist, so
 * refusing only existing identities would let the narrowed key claim ones not made yet.
 */
export function requireIdentityLink(caller: Caller, externalId: string, create: boolean) {
  if (!externalId) return;
  if (create) requirePermission(caller, "identity.create");
  else if (caller.keyspaceIds) throw beyondKeyspaces("tie a key to an identity of the workspace");
}

/**
 * Gives a key its external id, creating the identity when asked, once `requireIdentityLink` has
 * let the caller; returns the id of an identity created, whose change the caller publishes.
 */
export async function linkIdentity(deps: Pick<ServiceDeps, "store" | "random">, caller: Caller, externalId: string, create: boolean, at: number) {
  if (!externalId || !create) return undefined;
  return ensureIdentity(deps, caller.workspaceId, externalId, at);
}

/**
 * Creates the identity with this external id unless the workspace has it already; safe to race.
 * Returns the new identity's id, or undefined when it existed. Keys already carrying the external id
 * join the new identity on their next verification.
 */
async function ensureIdentity(
  { store, random }: Pick<ServiceDeps, "store" | "random">,
  workspaceId: string,
  externalId: string,
  at: number,
): Promise<string | undefined> {
  const createdAt = new Date(at);
  const id = newId("idt", at, random);
  try {
    await store.identities.insert({ id, workspaceId, externalId, meta: null, rateLimits: [], createdAt, updatedAt: createdAt });
  } catch (error) {
    if (error instanceof DomainError && error.kind === "already_exists") return undefined;
    throw error;
  }
  return id;
}
