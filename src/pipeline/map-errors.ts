import { create, toBinary } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "../../gen/google/rpc/status_pb.js";
import { ErrorReason } from "../../gen/latchkey/v1/errors_pb.js";
import { DomainError, type FailureKind } from "../domain/errors.js";
import type { Logger } from "../observability/log.js";

/** ErrorInfo's domain: the service that produced the reason. */
const ERROR_DOMAIN = "latchkey";

const CODES: Record<FailureKind, Code> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  failed_precondition: Code.FailedPrecondition,
  already_exists: Code.AlreadyExists,
  unauthenticated: Code.Unauthenticated,
  permission_denied: Code.PermissionDenied,
  unavailable: Code.Unavailable,
  aborted: Code.Aborted,
};

/** The code a failure answers with. */
const failureCode = (error: unknown): Code => (error instanceof ConnectError ? error.code : error instanceof DomainError ? CODES[error.kind] : Code.Internal);

/** gRPC's own spelling of a failure code, as metrics and logs show it: `NOT_FOUND`. */
export const codeName = (code: Code) => Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();

/** `ok`, or the gRPC code a failure answers with, in snake case (`permission_denied`), as audit events record it. */
export const outcomeOf = (error?: unknown): string => (error === undefined ? "ok" : codeName(failureCode(error)).toLowerCase());

/**
 * What a failed call answers, whichever listener carried it. A domain failure gets its code, an
 * ErrorInfo naming its reason, and (for INVALID_ARGUMENT) a BadRequest naming every field at fault.
 * Anything unexpected answers INTERNAL with no details beyond the request id to quote.
 */
export function toConnectError(error: unknown, requestId: string): ConnectError {
  if (error instanceof ConnectError) return error;
  if (error instanceof DomainError) {
    const errorInfo = { desc: ErrorInfoSchema, value: { domain: ERROR_DOMAIN, reason: error.reason, metadata: { ...error.metadata } } };
    const badRequest = error.violations.length > 0 && {
      desc: BadRequestSchema,
      value: { fieldViolations: error.violations.map(({ field, description }) => ({ field, description })) },
    };
    return new ConnectError(error.message, CODES[error.kind], undefined, badRequest ? [errorInfo, badRequest] : [errorInfo]);
  }
  return new ConnectError(`internal error. Quote request id ${requestId} to the operator`, Code.Internal, undefined, [
    { desc: ErrorInfoSchema, value: { domain: ERROR_DOMAIN, reason: ErrorReason[ErrorReason.INTERNAL], metadata: { requestId } } },
  ]);
}

/** The `grpc-status-details-bin` trailer for an error: a google.rpc.Status holding its details. */
export function grpcStatusDetails(error: ConnectError): Uint8Array | undefined {
  const details = error.details.flatMap((detail) => ("desc" in detail ? [anyPack(detail.desc, create(detail.desc, detail.value))] : []));
  if (details.length === 0) return undefined;
  return toBinary(StatusSchema, create(StatusSchema, { code: error.code, message: error.rawMessage, details }));
}

/** What a failed call answers; an unexpected failure is logged for the operator with the request id its caller was given. */
export function mapError(error: unknown, requestId: string, procedure: string, log: Logger): ConnectError {
  const connectError = toConnectError(error, requestId);
  if (connectError.code === Code.Internal && connectError !== error) {
    log.error("unexpected failure", { procedure, requestId, error: String(error), stack: error instanceof Error ? error.stack : undefined });
  }
  return connectError;
}
