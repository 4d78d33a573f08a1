import { randomBase58 } from "../domain/base58.js";
import type { Logger } from "../observability/log.js";
import type { Metrics } from "../observability/metrics.js";
import type { CallContext } from "./context.js";

/** Told how a call ended: `OK`, or gRPC's name of its failure code (`NOT_FOUND`). */
export type CallEnd = (code: string) => void;

/**
 * Something told of every call's start and end, on every listener. Metrics and the access log are
 * one; tracing would be another: a file implementing this, listed in the pipeline's observers.
 */
export interface CallObserver {
  /** Called once per procedure, as the pipeline is composed: what starts observing one call of it. */
  observe(procedure: string): (requestId: string, context: CallContext) => CallEnd;
}

/** A caller may name its own request id (to correlate logs); anything else gets one of ours. */
const CALLER_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;
export const REQUEST_ID_HEADER = "x-request-id";

/** Gives every call a request id, answered in the `x-request-id` header: the caller's own when it offers a fitting one. */
export class RequestIds {
  private readonly instance = randomBase58(8);
  private sequence = 0;

  assign(context: CallContext): string {
    const offered = context.requestHeaderValue(REQUEST_ID_HEADER);
    const requestId = offered && CALLER_REQUEST_ID.test(offered) ? offered : `${this.instance}${(++this.sequence).toString(36)}`;
    context.setResponseHeaderValue(REQUEST_ID_HEADER, requestId);
    return requestId;
  }
}

/** Each call's duration and code in the RPC metrics, and (with `accessLog`) one log line per call. */
export const metricsAndAccessLog = (metrics: Metrics, log: Logger, accessLog: boolean): CallObserver => ({
  observe(procedure) {
    const record = metrics.rpcRecorder(procedure);
    return (requestId) => {
      const started = performance.now();
      return (code) => {
        const seconds = (performance.now() - started) / 1000;
        record(code, seconds);
        if (accessLog) log.info("rpc", { procedure, code, ms: Math.round(seconds * 100_000) / 100, requestId });
      };
    };
  },
});
