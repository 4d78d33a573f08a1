import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import http2 from "node:http2";
import type { DescService } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { peerContextValues } from "../pipeline/context.js";
import type { Config } from "../config.js";
import type { Logger } from "../observability/log.js";
import type { Metrics } from "../observability/metrics.js";
import { metricsServer } from "../observability/metrics-server.js";
import { connectHandler } from "../transport/connect-adapter.js";
import { CONNECTION_LIMITS, type ConnectionLimits, grpcJsConnectionOptions, manageHttp2Connections, MAX_CONCURRENT_STREAMS } from "../transport/connections.js";
import { DEFAULT_CONSOLE_DIR, loadConsoleFiles, withConsole } from "../transport/console-static.js";
import { withCors } from "../transport/cors.js";
import { addToGrpcJsServer } from "../transport/grpc-js-adapter.js";
import { wellFormedRequestsOnly } from "../transport/grpc-js-well-formed.js";
import { bindGrpc, closeServer, listen, type TlsFiles } from "../transport/listen.js";
import { apiRoutes } from "./services.js";

export type ListenerOptions = Pick<Config, "host" | "port" | "maxRequestBytes" | "corsAllowedOrigins" | "tlsCertFile" | "tlsKeyFile" | "shutdownTimeoutMs"> & {
  connectionLimits?: ConnectionLimits;
  /** Undefined leaves the HTTP/1.1 listener off; 0 picks a free port. */
  http1Port: number | undefined;
  /** Undefined leaves the native gRPC listener off; 0 picks a free port. */
  grpcPort?: number;
  /** Undefined leaves the metrics listener off; 0 picks a free port. */
  metricsPort?: number;
  /** The metrics listener's interface; loopback unless told (not `host`). */
  metricsHost?: string;
  /** Serves the console at /console on the browser listeners (docs/console.md); off unless told. */
  consoleEnabled?: boolean;
  /** Where the built console is; packages/console/dist unless told. */
  consoleDir?: string;
};

export interface Listeners {
  /** The HTTP/2 listener of the Connect router: gRPC, gRPC-Web and Connect. */
  port: number;
  /** The HTTP/1.1 listener for browsers, when enabled. */
  http1Port: number | undefined;
  /** The @grpc/grpc-js listener for native gRPC, when enabled. */
  grpcPort: number | undefined;
  /** The Prometheus scrape endpoint (/metrics), when enabled. */
  metricsPort: number | undefined;
  /** Stops accepting, lets calls under way finish up to the shutdown timeout, then cuts what is left. */
  close(): Promise<void>;
}

/**
 * The listeners that carry the services: the Connect router on HTTP/2 (and HTTP/1.1 for browsers,
 * when enabled) behind CORS, grpc-js for native gRPC, and the metrics endpoint. Under TLS every
 * listener but the metrics one uses it.
 */
export async function startListeners(
  services: readonly [DescService, object][],
  metrics: Metrics,
  options: ListenerOptions & { log: Logger; now: () => number },
): Promise<Listeners> {
  const { log } = options;
  const shutdown = new AbortController();
  const tls: TlsFiles | undefined = options.tlsCertFile ? { cert: readFileSync(options.tlsCertFile), key: readFileSync(options.tlsKeyFile!) } : undefined;
  const limits = options.connectionLimits ?? CONNECTION_LIMITS;

  const consoleFiles = options.consoleEnabled ? loadConsoleFiles(options.consoleDir ?? DEFAULT_CONSOLE_DIR, log) : undefined;
  const handler = withConsole(
    withCors(
      connectHandler({
        routes: apiRoutes(services),
        readMaxBytes: options.maxRequestBytes,
        contextValues: (request) => peerContextValues(request.socket.remoteAddress),
        log,
      }),
      options.corsAllowedOrigins,
      log,
      options.now,
    ),
    consoleFiles,
  );
  const settings = { maxConcurrentStreams: MAX_CONCURRENT_STREAMS };
  const main = tls ? http2.createSecureServer({ ...tls, allowHTTP1: true, settings }, handler) : http2.createServer({ settings }, handler);
  const connections = manageHttp2Connections(main, limits);
  // Under TLS the browser listener is TLS too: bearer tokens never cross the network in the clear.
  const browser = options.http1Port === undefined ? undefined : tls ? https.createServer(tls, handler) : http.createServer(handler);
  if (browser) browser.maxConnections = limits.maxConnections;

  let native: grpc.Server | undefined;
  if (options.grpcPort !== undefined) {
    native = new grpc.Server({
      "grpc.max_receive_message_length": options.maxRequestBytes,
      "grpc.enable_channelz": 0,
      ...grpcJsConnectionOptions(limits),
      interceptors: [wellFormedRequestsOnly],
    });
    for (const [service, implementation] of services) {
      addToGrpcJsServer(native, service, implementation, { shutdownSignal: shutdown.signal });
    }
  }

  const port = await listen(main, options.host, options.port, "PORT");
  const http1Port = browser ? await listen(browser, options.host, options.http1Port!, "HTTP1_PORT") : undefined;
  const grpcPort = native ? await bindGrpc(native, options.host, options.grpcPort!, tls) : undefined;
  const scrape = options.metricsPort === undefined ? undefined : metricsServer(metrics);
  const metricsPort = scrape ? await listen(scrape, options.metricsHost ?? "127.0.0.1", options.metricsPort!, "METRICS_PORT") : undefined;

  return {
    port,
    http1Port,
    grpcPort,
    metricsPort,
    async close() {
      // grpc-js never calls back a graceful shutdown that forceShutdown cut short, so either ends the wait.
      let nativeClosed = () => {};
      const nativeDone = new Promise<void>((resolve) => (nativeClosed = resolve));
      if (native) native.tryShutdown(() => nativeClosed());
      else nativeClosed();
      const closed = Promise.all([closeServer(main), browser ? closeServer(browser) : undefined, scrape ? closeServer(scrape) : undefined, nativeDone]);
      scrape?.closeAllConnections();
      connections.closeAll();
      browser?.closeIdleConnections();
      const timer = setTimeout(() => {
        log.warn("shutdown timeout reached, closing remaining connections");
        shutdown.abort();
        connections.destroyAll();
        browser?.closeAllConnections();
        native?.forceShutdown();
        nativeClosed();
      }, options.shutdownTimeoutMs);
      await closed;
      clearTimeout(timer);
    },
  };
}
