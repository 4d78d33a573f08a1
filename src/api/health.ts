import { EventEmitter, on } from "node:events";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { type Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/health/v1/health_pb.js";

/**
 * The standard grpc.health.v1 service. Every served service shares the process's status: it is
 * SERVING until shutdown begins, then NOT_SERVING so that load balancers drain this instance.
 */
export class HealthState {
  private status = ServingStatus.SERVING;
  private readonly changes = new EventEmitter();
  private readonly closing = new AbortController();

  constructor(readonly services: readonly string[]) {}

  get current() {
    return this.status;
  }

  set(status: ServingStatus) {
    if (status === this.status) return;
    this.status = status;
    this.changes.emit("change");
  }

  /** Ends every watch, so that open Watch streams do not hold a shutdown up. */
  close() {
    this.closing.abort();
  }

  /** The status now and after each change, until the caller goes away or the state is closed. */
  async *watch(callerSignal: AbortSignal): AsyncGenerator<ServingStatus> {
    const signal = AbortSignal.any([callerSignal, this.closing.signal]);
    yield this.status;
    try {
      for await (const _ of on(this.changes, "change", { signal })) yield this.status;
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  }
}

export function healthService(state: HealthState): ServiceImpl<typeof Health> {
  const requireKnown = (service: string) => {
    if (service !== "" && !state.services.includes(service)) {
      throw new ConnectError(`unknown service ${service}`, Code.NotFound);
    }
  };
  return {
    check(request) {
      requireKnown(request.service);
      return { status: state.current };
    },
    async *watch(request, context: HandlerContext) {
      requireKnown(request.service);
      for await (const status of state.watch(context.signal)) yield { status };
    },
    list() {
      const statuses = Object.fromEntries(["", ...state.services].map((name) => [name, { status: state.current }]));
      return { statuses };
    },
  };
}
