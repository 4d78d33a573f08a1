import { type Caller, type ManagementPermission, permissionDenial } from "../domain/access.js";
import type { DomainError } from "../domain/errors.js";
import { type Elevation, OWN_ROOT_KEY, type Procedure } from "./procedures.js";

/**
 * Why the caller may not call the procedure, or undefined when it may. The ADMIN_TOKEN was checked
 * when it authenticated, and so was being a root key, all a read of its own record needs.
 */
export const authorize = (caller: Caller, permission: ManagementPermission | "admin" | typeof OWN_ROOT_KEY): DomainError | undefined =>
  permission === "admin" || permission === OWN_ROOT_KEY ? undefined : permissionDenial(caller, permission);

/** The second permission a read asks for (a secret), when this request asks for it. */
export const elevationOf = (procedure: Procedure<never, unknown> & { kind: "read" }, request: never): Elevation<never> | undefined =>
  procedure.elevated?.when(request) ? procedure.elevated : undefined;
