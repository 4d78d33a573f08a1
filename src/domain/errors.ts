/**
 * Failures the domain and the stores report. The API layer maps each kind to its gRPC code and
 * each reason to the ErrorInfo reason of the same name in proto/latchkey/v1/errors.proto, so
 * nothing below it needs to know about transports.
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
  | "permission_denied"
  | "unavailable"
  | "aborted";

/** Stable, machine-readable causes; ErrorReason in errors.proto documents each. */
export const FAILURE_REASONS = [
  "INVALID_FIELD",
  "CREDENTIALS_MISSING",
  "ROOT_KEY_REFUSED",
  "ADMIN_TOKEN_REQUIRED",
  "PERMISSION_MISSING",
  "KEYSPACE_NOT_GRANTED",
  "RESOURCE_NOT_FOUND",
  "ALREADY_EXISTS",
  "KEY_REVOKED",
  "ROOT_KEY_ENDED",
  "RESOURCE_IN_USE",
  "MALFORMED_REQUEST",
  "STORE_UNAVAILABLE",
  "NO_CREDITS",
  "REQUEST_ID_REUSED",
  "REQUEST_IN_PROGRESS",
  "ENCRYPTION_UNAVAILABLE",
] as const;

export type FailureReason = (typeof FAILURE_REASONS)[number];

/** One field a request got wrong, by its path in the request (`key.expires_at`, `requests[3].cost`). */
export interface FieldViolation {
  field: string;
  description: string;
}

const DEFAULT_REASONS: Record<FailureKind, FailureReason> = {
  invalid_argument: "INVALID_FIELD",
  not_found: "RESOURCE_NOT_FOUND",
  failed_precondition: "RESOURCE_IN_USE",
  already_exists: "ALREADY_EXISTS",
  unauthenticated: "CREDENTIALS_MISSING",
  permission_denied: "PERMISSION_MISSING",
  unavailable: "STORE_UNAVAILABLE",
  aborted: "REQUEST_IN_PROGRESS",
};

export class DomainError extends Error {
  readonly reason: FailureReason;
  /** Facts a client may act on, such as the missing permission; never a secret. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Set for invalid_argument: every field at fault. */
  readonly violations: readonly FieldViolation[];

  constructor(
    readonly kind: FailureKind,
    message: string,
    details: { reason?: FailureReason; metadata?: Record<string, string>; violations?: FieldViolation[] } = {},
  ) {
    super(message);
    this.name = "DomainError";
    this.reason = details.reason ?? DEFAULT_REASONS[kind];
    this.metadata = details.metadata ?? {};
    this.violations = details.violations ?? [];
  }
}

export const invalidArgument = (field: string, problem: string) => invalidFields([{ field, description: problem }]);

/** Several fields at fault at once; the message names the first. */
export const invalidFields = (violations: FieldViolation[]) =>
  new DomainError("invalid_argument", violations.map(({ field, description }) => `${field} ${description}`)[0] ?? "invalid request", {
    violations,
  });

/** A body that does not decode as the request message: nothing of it can be trusted, so no field is named. */
export const malformedRequest = (messageType?: string) =>
  new DomainError(
    "invalid_argument",
    messageType ? `the request body is not a well-formed ${messageType}` : "the request body is not exactly one well-formed request message",
    { reason: "MALFORMED_REQUEST" },
  );

/** The database did not answer in time or cannot be reached; the call may be retried. */
export const storeUnavailable = (message: string) => new DomainError("unavailable", message);

export const notFound = (what: string, id: string) => new DomainError("not_found", `${what} ${id} not found`, { metadata: { resource: what, id } });

export const failedPrecondition = (message: string, reason: FailureReason = "RESOURCE_IN_USE") => new DomainError("failed_precondition", message, { reason });

export const alreadyExists = (message: string) => new DomainError("already_exists", message);

export const unauthenticated = (message: string, reason: FailureReason = "CREDENTIALS_MISSING") => new DomainError("unauthenticated", message, { reason });
