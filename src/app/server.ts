import { createRouterTransport, type Transport } from "@connectrpc/connect";
import type { Config } from "../config.js";
import type { RandomSource } from "../domain/base58.js";
import type { Logger } from "../observability/log.js";
import { Metrics } from "../observability/metrics.js";
import { DEFAULT_STORE_TIMEOUT_MS, guardedStore } from "../store/guarded.js";
import type { Store } from "../store/store.js";
import { HealthState } from "../transport/health.js";
import { createVerification, DEFAULT_VERIFICATION_OPTIONS, type VerificationOptions } from "../verify/index.js";
import { type ListenerOptions, startListeners } from "./listeners.js";
import { apiRoutes, HEALTH_REPORTED_SERVICES, serviceDeps, serviceImplementations } from "./services.js";
import { keepStore } from "./store-upkeep.js";

export interface RunningServer {
  /** The HTTP/2 listener of the Connect router: gRPC, gRPC-Web and Connect. */
  port: number;
  /** The HTTP/1.1 listener for browsers, when enabled. */
  http1Port: number | undefined;
  /** The @grpc/grpc-js listener for native gRPC, when enabled. */
  grpcPort: number | undefined;
  /** The Prometheus scrape endpoint (/metrics), when enabled. */
  metricsPort: number | undefined;
  /** Calls this server's services in process, through the same pipeline as every listener. */
  localTransport: Transport;
  /**
   * Stops accepting, lets in-flight calls finish (up to the configured timeout), closes connections,
   * then writes the last key uses. The store stays open: it belongs to the caller.
   */
  close(): Promise<void>;
}

export type ServerOptions = ListenerOptions &
  Pick<Config, "adminToken" | "keyEncryptionKeys"> & {
    /** How long a store call may take before it fails UNAVAILABLE; 5 s unless told. */
    storeTimeoutMs?: number;
    /** How often the store's health is checked (and its indexes ensured); 5 s unless told. */
    storeCheckMs?: number;
    /** The process runs this instance alone: /metrics also publishes the process's CPU, memory, GC and event-loop figures. */
    processMetrics?: boolean;
    /** One log line per RPC; on unless turned off. */
    accessLog?: boolean;
    store: Store;
    log: Logger;
    verification?: VerificationOptions;
    now?: () => number;
    random?: RandomSource;
  };

const DEFAULT_STORE_CHECK_MS = 5000;

/** Assembles one instance: the store behind its guard, verification, the services behind the call pipeline, and the listeners. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { log } = options;
  const now = options.now ?? Date.now;
  const metrics = new Metrics();
  if (options.processMetrics) metrics.watchProcess();
  const storeTimeoutMs = options.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
  const store = guardedStore(options.store, { metrics, timeoutMs: storeTimeoutMs });
  const verification = createVerification(store, now, log, {
    ...(options.verification ?? DEFAULT_VERIFICATION_OPTIONS),
    adminToken: options.adminToken,
    metrics,
    storeTimeoutMs,
  });
  const deps = serviceDeps({ ...options, store, now }, verification);
  const health = new HealthState(HEALTH_REPORTED_SERVICES.map((service) => service.typeName));
  const services = serviceImplementations(deps, health, { verification, log, accessLog: options.accessLog ?? true });

  await verification.start();
  const stopUpkeep = keepStore(store, health, log, now, options.storeCheckMs ?? DEFAULT_STORE_CHECK_MS);
  const listeners = await startListeners(services, metrics, { ...options, now });

  return {
    port: listeners.port,
    http1Port: listeners.http1Port,
    grpcPort: listeners.grpcPort,
    metricsPort: listeners.metricsPort,
    localTransport: createRouterTransport(apiRoutes(services)),
    async close() {
      stopUpkeep();
      health.close();
      await listeners.close();
      // What the instance holds (key uses, analytics counts, credit shares, reservations) goes to
      // the store, but not for longer than the calls were given: an orchestrator kills a process
      // that outlasts its grace period, and a store that stopped answering would hold it for
      // STORE_TIMEOUT_MS per write. Whatever is not written by then is lost, as if killed.
      if ((await settledWithin(verification.stop(), options.shutdownTimeoutMs)) === "timed out") {
        log.warn("writing what this instance held outlasted SHUTDOWN_TIMEOUT_MS: the rest is given up, as if the instance had been killed", {
          shutdownTimeoutMs: options.shutdownTimeoutMs,
        });
      }
    },
  };
}

/** Waits for `work` to settle, but at most `ms`. */
async function settledWithin(work: Promise<unknown>, ms: number): Promise<"settled" | "timed out"> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timed out">((resolve) => (timer = setTimeout(() => resolve("timed out"), ms)));
  try {
    return await Promise.race([work.then(() => "settled" as const), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
