import type { Caller } from "../domain/access.js";
import { type Credentials, RefusedRootKey } from "../verify/credentials.js";
import type { CallContext } from "./context.js";

export type Authenticator = Pick<Credentials, "rootKey" | "admin">;

/**
 * Who calls, from the authorization header: the operator holding the ADMIN_TOKEN for an `admin`
 * procedure, a root key otherwise. Synchronous when no storage is needed; a refused root key throws
 * (or rejects with) RefusedRootKey.
 */
export function authenticate(credentials: Authenticator, admin: boolean, context: CallContext): Caller | Promise<Caller> {
  const header = context.requestHeaderValue("authorization");
  return admin ? credentials.admin(header) : credentials.rootKey(header);
}

/** The caller an attempt with a revoked or expired root key is recorded as: that key, in its workspace, holding nothing. */
export const refusedCaller = (error: unknown): Caller | undefined =>
  error instanceof RefusedRootKey ? { actor: error.rootKeyId, workspaceId: error.workspaceId, permissions: new Set(), keyspaceIds: undefined } : undefined;
