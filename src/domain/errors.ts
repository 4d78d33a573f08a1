/**
 * Failures the domain and the stores report. The API layer maps each kind to its gRPC code,
 * so nothing below it needs to know about transports.
 *
 * Messages travel in gRPC trailers, where some clients decode percent-encoding only in part:
 * they are kept free of the characters / ? : @ & = + , #.
 */
export type FailureKind =
  | "invalid_argument"
  | "not_found"
  | "failed_precondition"
  | "already_exists"
  | "unauthenticated"
  | "permission_denied";

export class DomainError extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
  ) {
    super(message);
    this.name = "DomainError";
  }
}

export const invalidArgument = (field: string, problem: string) =>
  new DomainError("invalid_argument", `${field} ${problem}`);

export const notFound = (what: string, id: string) => new DomainError("not_found", `${what} ${id} not found`);

export const failedPrecondition = (message: string) => new DomainError("failed_precondition", message);

export const alreadyExists = (message: string) => new DomainError("already_exists", message);

export const unauthenticated = (message: string) => new DomainError("unauthenticated", message);
