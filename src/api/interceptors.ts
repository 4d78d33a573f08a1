import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { DomainError, type FailureKind } from "../domain/errors.js";
import type { Logger } from "../log.js";

const CODES: Record<FailureKind, Code> = {
  invalid_argument: Code.InvalidArgument,
  not_found: Code.NotFound,
  failed_precondition: Code.FailedPrecondition,
  already_exists: Code.AlreadyExists,
};

/** Turns domain failures into their gRPC codes; anything unexpected is logged and answered as INTERNAL without details. */
export function domainErrors(log: Logger): Interceptor {
  return (next) => async (request) => {
    try {
      return await next(request);
    } catch (error) {
      if (error instanceof ConnectError) throw error;
      if (error instanceof DomainError) throw new ConnectError(error.message, CODES[error.kind]);
      log.error("unexpected failure", { procedure: request.url, error: String(error) });
      throw new ConnectError("internal error", Code.Internal);
    }
  };
}

/** One line per call: procedure, outcome and duration. Request and response bodies are never logged. */
export function accessLog(log: Logger): Interceptor {
  return (next) => async (request) => {
    const started = performance.now();
    const procedure = `${request.service.typeName}/${request.method.name}`;
    try {
      const response = await next(request);
      log.info("rpc", { procedure, code: "ok", ms: elapsed(started) });
      return response;
    } catch (error) {
      log.info("rpc", { procedure, code: Code[ConnectError.from(error).code], ms: elapsed(started) });
      throw error;
    }
  };
}

const elapsed = (started: number) => Math.round((performance.now() - started) * 100) / 100;
