import { EventEmitter, on } from "node:events";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { type Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/health/v1/health_pb.js";

/**
 * The standard grpc.health.v1 service. Every served service shares the process's status: SERVING
 * while the store answers, NOT_SERVING while it does not (so load balancers send calls elsewhere)
 * and from the start of shutdown (so they drain this instance).
 */
export class HealthState {
  private status = ServingStatus.SERVING;
  private storeDown = false;
  private shuttingDown = false;
  private watchers = 0;
  private readonly changes = new EventEmitter();
  private readonly closing = new AbortController();

  constructor(
    readonly services: readonly string[],
    /** Watch streams held open at once, by all clients together; more answer RESOURCE_EXHAUSTED. */
    readonly maxWatchers = MAX_WATCH_STREAMS,
  ) {
    this.changes.setMaxListeners(maxWatchers + 1);
  }

  get current() {
    return this.status;
  }

  /** Told the outcome of each store health check. */
  storeAnswered(answered: boolean) {
    this.storeDown = !answered;
    this.update();
  }

  /** Ends every watch, so that open Watch streams do not hold a shutdown up, and answers NOT_SERVING from now on. */
  close() {
    this.shuttingDown = true;
    this.update();
    this.closing.abort();
  }

  private update() {
    const status = this.shuttingDown || this.storeDown ? ServingStatus.NOT_SERVING : ServingStatus.SERVING;
    if (status === this.status) return;
    this.status = status;
    this.changes.emit("change");
  }

  /** The status now and after each change, until the caller goes away or the state is closed. */
  async *watch(callerSignal: AbortSignal): AsyncGenerator<ServingStatus> {
    if (this.watchers >= this.maxWatchers) throw new ConnectError(`at most ${this.maxWatchers} health watches may be open at once`, Code.ResourceExhausted);
    this.watchers++;
    const signal = AbortSignal.any([callerSignal, this.closing.signal]);
    try {
      yield this.status;
      for await (const _ of on(this.changes, "change", { signal })) yield this.status;
    } catch (error) {
      if (!signal.aborted) throw error;
    } finally {
      this.watchers--;
    }
  }
}

/** Each open Watch holds a stream and a listener; load balancers need a handful per instance. */
export const MAX_WATCH_STREAMS = 1000;

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
