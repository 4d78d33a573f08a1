import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { DomainError, type FailureKind } from "../domain/errors.js";
import type { Logger } from "../log.js";

const CODES: Record<FailureKind, Code> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  failed_precondition: Code.FailedPrecondition,
  already_exists: Code.AlreadyExists,
  unauthenticated: Code.Unauthenticated,
  permission_denied: Code.PermissionDenied,
};

/** The code a failure answers with. */
export const failureCode = (error: unknown): Code =>
  error instanceof ConnectError ? error.code : error instanceof DomainError ? CODES[error.kind] : Code.Internal;

/**
 * What every failed call answers, whichever server carried it: domain failures get their gRPC
 * code; anything unexpected is logged and answered as INTERNAL without details.
 */
export function toConnectError(error: unknown, procedure: string, log: Logger): ConnectError {
  if (error instanceof ConnectError) return error;
  if (error instanceof DomainError) return new ConnectError(error.message, CODES[error.kind]);
  log.error("unexpected failure", { procedure, error: String(error) });
  return new ConnectError("internal error", Code.Internal);
}

/** One line per call: procedure, outcome and duration. Request and response bodies are never logged. */
export function logCall(log: Logger, procedure: string, started: number, error?: ConnectError) {
  log.info("rpc", { procedure, code: error ? Code[error.code] : "ok", ms: Math.round((performance.now() - started) * 100) / 100 });
}

export function domainErrors(log: Logger): Interceptor {
  return (next) => async (request) => {
    try {
      return await next(request);
    } catch (error) {
      throw toConnectError(error, request.url, log);
    }
  };
}

export function accessLog(log: Logger): Interceptor {
  return (next) => async (request) => {
    const started = performance.now();
    const procedure = `${request.service.typeName}/${request.method.name}`;
    try {
      const response = await next(request);
      logCall(log, procedure, started);
      return response;
    } catch (error) {
      logCall(log, procedure, started, ConnectError.from(error));
      throw error;
    }
  };
}
