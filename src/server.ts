import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import http2 from "node:http2";
import net, { type AddressInfo, type Socket } from "node:net";
import type { DescService } from "@bufbuild/protobuf";
import { type ConnectRouter, cors, createRouterTransport, type ServiceImpl, type Transport } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import * as reflectionV1 from "../gen/grpc/reflection/v1/reflection_pb.js";
import * as reflectionV1alpha from "../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { file_google_rpc_error_details } from "../gen/google/rpc/error_details_pb.js";
import { file_google_rpc_status } from "../gen/google/rpc/status_pb.js";
import { Health } from "../gen/health/v1/health_pb.js";
import { AnalyticsService } from "../gen/latchkey/v1/analytics_pb.js";
import { AuditService } from "../gen/latchkey/v1/audit_pb.js";
import { file_latchkey_v1_errors } from "../gen/latchkey/v1/errors_pb.js";
import { IdentityService } from "../gen/latchkey/v1/identity_pb.js";
import { KeyService } from "../gen/latchkey/v1/key_pb.js";
import { KeyspaceService } from "../gen/latchkey/v1/keyspace_pb.js";
import { RatelimitService } from "../gen/latchkey/v1/ratelimit_pb.js";
import { RbacService } from "../gen/latchkey/v1/rbac_pb.js";
import { RootKeyService } from "../gen/latchkey/v1/root_key_pb.js";
import { VerifyService } from "../gen/latchkey/v1/verify_pb.js";
import { WorkspaceService } from "../gen/latchkey/v1/workspace_pb.js";
import { AuditLog } from "./api/audit-log.js";
import { analyticsService } from "./api/analytics-service/index.js";
import { auditService } from "./api/audit-service/index.js";
import type { ServiceDeps } from "./api/deps.js";
import { connectHandler, type NodeHandler } from "./api/connect-adapter.js";
import { addToGrpcJsServer, wellFormedRequestsOnly } from "./api/grpc-js-adapter.js";
import { HealthState, healthService } from "./api/health.js";
import { identityService } from "./api/identity-service/index.js";
import { keyService } from "./api/key-service/index.js";
import { peerContextValues, Pipeline, REQUEST_ID_HEADER } from "./api/pipeline.js";
import { RequestValidator } from "./api/request-validation.js";
import { keyspaceService } from "./api/keyspace-service/index.js";
import { ratelimitService } from "./api/ratelimit-service/index.js";
import { rbacService } from "./api/rbac-service/index.js";
import { reflectionServices } from "./api/reflection.js";
import { rootKeyService } from "./api/root-key-service/index.js";
import { verifyService } from "./api/verify-service/index.js";
import { workspaceService } from "./api/workspace-service/index.js";
import type { Config } from "./config.js";
import type { RandomSource } from "./domain/base58.js";
import { REQUEST_RETENTION_MS } from "./domain/idempotency.js";
import { type KeyEncryptionKey, SecretVault } from "./domain/secret-vault.js";
import type { Logger } from "./log.js";
import { Metrics } from "./metrics.js";
import { guardedStore } from "./store/guarded.js";
import { DEFAULT_CONSOLE_DIR, loadConsoleFiles, withConsole } from "./transport/console-static.js";
import type { Store } from "./store/store.js";
import { createVerification, DEFAULT_VERIFICATION_OPTIONS, type Verification, type VerificationOptions } from "./verify/index.js";

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

export type ServerOptions = Pick<
  Config,
  "host" | "port" | "maxRequestBytes" | "corsAllowedOrigins" | "tlsCertFile" | "tlsKeyFile" | "shutdownTimeoutMs" | "adminToken" | "keyEncryptionKeys"
> & {
  /** How long a store call may take before it fails UNAVAILABLE; 5 s unless told. */
  storeTimeoutMs?: number;
  /** How often the store's health is checked (and its indexes ensured); 5 s unless told. */
  storeCheckMs?: number;
  connectionLimits?: ConnectionLimits;
  /** Undefined leaves the HTTP/1.1 listener off; 0 picks a free port. */
  http1Port: number | undefined;
  /** Undefined leaves the native gRPC listener off; 0 picks a free port. */
  grpcPort?: number;
  /** Undefined leaves the metrics listener off; 0 picks a free port. */
  metricsPort?: number;
  /** The metrics listener's interface; loopback unless told (not `host`). */
  metricsHost?: string;
  /** One log line per RPC; on unless turned off. */
  accessLog?: boolean;
  /** Serves the console at /console (docs/console.md); off unless told. */
  consoleEnabled?: boolean;
  /** Where the built console is; packages/console/dist unless told. */
  consoleDir?: string;
  store: Store;
  log: Logger;
  verification?: VerificationOptions;
  now?: () => number;
  random?: RandomSource;
};

/**
 * What one HTTP/2 connection may hold open at once, told to clients in SETTINGS: without it a single
 * client could open thousands of streams (Health/Watch among them) and hold their memory.
 */
export const MAX_CONCURRENT_STREAMS = 100;
const DEFAULT_STORE_TIMEOUT_MS = 5000;
const DEFAULT_STORE_CHECK_MS = 5000;
/** How often answers kept for request_id retries are pruned once past their retention. */
const REQUEST_PRUNE_MS = 3600_000;
/** A connection with no stream activity for this long is closed; clients reconnect when they need to. */
const IDLE_CONNECTION_MS = 5 * 60_000;

export interface ConnectionLimits {
  /** Connections each listener holds at once; more are refused at accept. */
  maxConnections: number;
  /** A connection older than this is asked to go away (HTTP/2 GOAWAY: calls under way finish), so load spreads again after scaling. */
  maxAgeMs: number;
}
export const CONNECTION_LIMITS: ConnectionLimits = { maxConnections: 10_000, maxAgeMs: 30 * 60_000 };
/** How long calls under way on a connection past its age may still take before it is closed. */
const CONNECTION_AGE_GRACE_MS = 60_000;

export const API_SERVICES: readonly DescService[] = [
  WorkspaceService,
  RootKeyService,
  KeyspaceService,
  KeyService,
  VerifyService,
  IdentityService,
  RbacService,
  AuditService,
  RatelimitService,
  AnalyticsService,
];

/**
 * Served by reflection although no service imports them, so that grpcurl decodes the details of
 * every error (ErrorInfo, BadRequest and the other google.rpc types) and can describe the
 * catalogue of reasons.
 */
const ERROR_DETAIL_FILES = [file_google_rpc_error_details, file_google_rpc_status, file_latchkey_v1_errors];

/** What the handlers share: one set per instance, for a listening server and for in-process tests alike. */
export function serviceDeps(
  options: { store: Store; now: () => number; random?: RandomSource; keyEncryptionKeys?: readonly KeyEncryptionKey[] },
  verification: Verification,
): ServiceDeps {
  const { store, now, random } = options;
  return {
    store,
    now,
    random,
    changes: verification.changes,
    verifier: verification.verifier,
    creditShares: verification.creditShares,
    ratelimiter: verification.ratelimiter,
    vault: SecretVault.from(options.keyEncryptionKeys ?? []),
  };
}

/** Every service and its implementation, each method behind the call pipeline, for whichever server carries them. */
export function serviceImplementations(
  deps: ServiceDeps,
  health: HealthState,
  options: { verification: Verification; log: Logger; accessLog: boolean },
): [DescService, object][] {
  const { verification, log } = options;
  const pipeline = new Pipeline({
    credentials: verification.credentials,
    store: deps.store,
    now: deps.now,
    audit: new AuditLog(deps.store, deps.now, log),
    validator: new RequestValidator(),
    metrics: verification.metrics,
    log,
    accessLog: options.accessLog,
  });
  const reflection = reflectionServices(
    [...API_SERVICES, Health, reflectionV1.ServerReflection, reflectionV1alpha.ServerReflection],
    ERROR_DETAIL_FILES,
  );
  const open = <S extends DescService>(service: S, impl: ServiceImpl<S>): [DescService, object] => [service, pipeline.open(service, impl)];
  return [
    [WorkspaceService, pipeline.api(WorkspaceService, workspaceService(deps))],
    [RootKeyService, pipeline.api(RootKeyService, rootKeyService(deps))],
    [KeyspaceService, pipeline.api(KeyspaceService, keyspaceService(deps))],
    [KeyService, pipeline.api(KeyService, keyService(deps))],
    [VerifyService, pipeline.api(VerifyService, verifyService(deps))],
    [IdentityService, pipeline.api(IdentityService, identityService(deps))],
    [RbacService, pipeline.api(RbacService, rbacService(deps))],
    [AuditService, pipeline.api(AuditService, auditService(deps))],
    [RatelimitService, pipeline.api(RatelimitService, ratelimitService(deps))],
    [AnalyticsService, pipeline.api(AnalyticsService, analyticsService(deps))],
    open(Health, healthService(health)),
    open(reflectionV1.ServerReflection, reflection.v1),
    open(reflectionV1alpha.ServerReflection, reflection.v1alpha),
  ];
}

/** The Connect router's routes, for a listening server and for in-process test transports alike. */
export function apiRoutes(services: readonly [DescService, object][]) {
  return (router: ConnectRouter) => {
    for (const [service, implementation] of services) router.service(service, implementation as never);
  };
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { log } = options;
  const now = options.now ?? Date.now;
  const metrics = new Metrics();
  const store = guardedStore(options.store, { metrics, timeoutMs: options.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS });
  const verification = createVerification(store, now, log, {
    ...(options.verification ?? DEFAULT_VERIFICATION_OPTIONS),
    adminToken: options.adminToken,
    metrics,
  });
  const deps = serviceDeps({ ...options, store, now }, verification);
  const health = new HealthState([...API_SERVICES, Health].map((service) => service.typeName));
  const shutdown = new AbortController();
  const tls = options.tlsCertFile ? { cert: readFileSync(options.tlsCertFile), key: readFileSync(options.tlsKeyFile!) } : undefined;

  const services = serviceImplementations(deps, health, { verification, log, accessLog: options.accessLog ?? true });
  const consoleFiles = options.consoleEnabled ? loadConsoleFiles(options.consoleDir ?? DEFAULT_CONSOLE_DIR, log) : undefined;
  const handler = withConsole(withCors(
    connectHandler({
      routes: apiRoutes(services),
      readMaxBytes: options.maxRequestBytes,
      contextValues: (request) => peerContextValues(request.socket.remoteAddress),
      log,
    }),
    options.corsAllowedOrigins,
    log,
    now,
  ), consoleFiles);
  const sessions = new Set<http2.ServerHttp2Session>();
  const settings = { maxConcurrentStreams: MAX_CONCURRENT_STREAMS };
  const main = tls ? http2.createSecureServer({ ...tls, allowHTTP1: true, settings }, handler) : http2.createServer({ settings }, handler);
  const limits = options.connectionLimits ?? CONNECTION_LIMITS;
  main.maxConnections = limits.maxConnections;
  main.on("session", (session) => {
    session.setTimeout(IDLE_CONNECTION_MS, () => session.close());
    const aged = setTimeout(() => {
      session.close();
      setTimeout(() => session.destroy(), CONNECTION_AGE_GRACE_MS).unref();
    }, limits.maxAgeMs).unref();
    session.once("close", () => clearTimeout(aged));
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  // Destroying a session does not always release its socket; at the deadline the sockets go too.
  const sockets = new Set<Socket>();
  main.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  // Under TLS the browser listener is TLS too: bearer tokens never cross the network in the clear.
  const browser = options.http1Port === undefined ? undefined : tls ? https.createServer(tls, handler) : http.createServer(handler);
  if (browser) browser.maxConnections = limits.maxConnections;

  let native: grpc.Server | undefined;
  if (options.grpcPort !== undefined) {
    native = new grpc.Server({
      "grpc.max_receive_message_length": options.maxRequestBytes,
      "grpc.enable_channelz": 0,
      "grpc.max_concurrent_streams": MAX_CONCURRENT_STREAMS,
      "grpc.max_connection_idle_ms": IDLE_CONNECTION_MS,
      "grpc.max_connection_age_ms": limits.maxAgeMs,
      "grpc.max_connection_age_grace_ms": CONNECTION_AGE_GRACE_MS,
      interceptors: [wellFormedRequestsOnly],
    });
    for (const [service, implementation] of services) {
      addToGrpcJsServer(native, service, implementation, { shutdownSignal: shutdown.signal });
    }
  }

  await verification.start();
  const storeChecks = watchStore(store, health, log, options.storeCheckMs ?? DEFAULT_STORE_CHECK_MS);
  const requestPruning = setInterval(
    () => void store.pruneRequests(now() - REQUEST_RETENTION_MS).catch((error: unknown) => log.warn("pruning kept request answers failed", { error: String(error) })),
    REQUEST_PRUNE_MS,
  );
  requestPruning.unref();
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
    localTransport: createRouterTransport(apiRoutes(services)),
    async close() {
      clearInterval(storeChecks);
      clearInterval(requestPruning);
      health.close();
      // grpc-js never calls back a graceful shutdown that forceShutdown cut short, so either ends the wait.
      let nativeClosed = () => {};
      const nativeDone = new Promise<void>((resolve) => (nativeClosed = resolve));
      if (native) native.tryShutdown(() => nativeClosed());
      else nativeClosed();
      const closed = Promise.all([closeServer(main), browser ? closeServer(browser) : undefined, scrape ? closeServer(scrape) : undefined, nativeDone]);
      scrape?.closeAllConnections();
      for (const session of sessions) session.close();
      browser?.closeIdleConnections();
      const timer = setTimeout(() => {
        log.warn("shutdown timeout reached, closing remaining connections");
        shutdown.abort();
        for (const session of sessions) session.destroy();
        for (const socket of sockets) socket.destroy();
        browser?.closeAllConnections();
        native?.forceShutdown();
        nativeClosed();
      }, options.shutdownTimeoutMs);
      await closed;
      clearTimeout(timer);
      await verification.stop();
    },
  };
}

/**
 * Checks the store every `everyMs`: health answers NOT_SERVING while it fails, and the check
 * recreates indexes a database that came back empty has lost. Logged when the state changes.
 */
function watchStore(store: Store, health: HealthState, log: Logger, everyMs: number): NodeJS.Timeout {
  let answering = true;
  let checking = false;
  const check = () => {
    if (checking) return;
    checking = true;
    void store.checkHealth().finally(() => (checking = false)).then(
      () => {
        if (!answering) log.info("the store answers again");
        answering = true;
        health.storeAnswered(true);
      },
      (error: unknown) => {
        if (answering) log.error("the store failed its health check: health answers NOT_SERVING", { error: String(error) });
        answering = false;
        health.storeAnswered(false);
      },
    );
  };
  const timer = setInterval(check, everyMs);
  timer.unref();
  return timer;
}

/** How often at most a refused browser origin is logged: a page calling in a loop writes one line a minute, not one per call. */
export const REFUSED_ORIGIN_LOG_MS = 60_000;

/**
 * Lets browsers on the allowed origins call the API, answering their preflight requests here, and
 * lets their scripts read the request id. A call from any other origin is served without CORS
 * headers, so the browser withholds the answer; the log says so, at most once a REFUSED_ORIGIN_LOG_MS.
 */
function withCors(handler: NodeHandler, allowedOrigins: readonly string[], log: Logger, now: () => number): NodeHandler {
  const allowed = (origin: string) => allowedOrigins.includes(origin);
  const exposed = [...cors.exposedHeaders, REQUEST_ID_HEADER].join(", ");
  let lastRefusalLogged = -Infinity;
  let refusedSinceLogged = 0;
  return (request, response) => {
    const origin = request.headers.origin;
    if (typeof origin === "string" && allowed(origin)) {
      response.setHeader("access-control-allow-origin", origin);
      response.setHeader("vary", "origin");
      response.setHeader("access-control-expose-headers", exposed);
      if (request.method === "OPTIONS") {
        response.setHeader("access-control-allow-methods", cors.allowedMethods.join(", "));
        response.setHeader("access-control-allow-headers", [...cors.allowedHeaders, "Authorization", REQUEST_ID_HEADER].join(", "));
        response.setHeader("access-control-max-age", "7200");
        response.writeHead(204);
        response.end();
        return;
      }
    } else if (typeof origin === "string") {
      refusedSinceLogged++;
      if (now() - lastRefusalLogged >= REFUSED_ORIGIN_LOG_MS) {
        log.warn("a browser origin outside CORS_ALLOWED_ORIGINS called: the browser withholds the answer", {
          origin: origin.slice(0, 200),
          refusedCalls: refusedSinceLogged,
          allowedOrigins: allowedOrigins.length ? allowedOrigins : "none",
        });
        lastRefusalLogged = now();
        refusedSinceLogged = 0;
      }
    }
    handler(request, response);
  };
}

/** Prometheus scrapes GET /metrics; nothing else is served here. */
function metricsServer(metrics: Metrics): http.Server {
  return http.createServer((request, response) => {
    if (request.method !== "GET" || request.url?.split("?")[0] !== "/metrics") {
      response.writeHead(404).end();
      return;
    }
    metrics.render().then(
      (text) => response.writeHead(200, { "content-type": metrics.registry.contentType }).end(text),
      () => response.writeHead(500).end(),
    );
  });
}

/**
 * A port taken by another process (often a latchkey started earlier and still running) is told as
 * one line naming the setting, so that whoever started this one sees at once why it stopped.
 */
export class PortInUseError extends Error {
  constructor(setting: string, host: string, port: number) {
    super(`${setting} ${port} on ${host} is already in use, perhaps by a latchkey started earlier; stop that one or set ${setting} to another port`);
  }
}

function listen(server: http.Server | http2.Http2Server | net.Server, host: string, port: number, setting: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const refused = (error: NodeJS.ErrnoException) => reject(error.code === "EADDRINUSE" ? new PortInUseError(setting, host, port) : error);
    server.once("error", refused);
    server.listen(port, host, () => {
      server.off("error", refused);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

async function bindGrpc(server: grpc.Server, host: string, port: number, tls: { cert: Buffer; key: Buffer } | undefined): Promise<number> {
  // grpc-js reports a taken port only as a list of resolver errors (and logs it to stderr itself), so it is tried first.
  if (port !== 0) {
    const probe = net.createServer();
    await listen(probe, host, port, "GRPC_PORT");
    await new Promise((resolve) => probe.close(resolve));
  }
  const credentials = tls
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: tls.cert, private_key: tls.key }], false)
    : grpc.ServerCredentials.createInsecure();
  const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => server.bindAsync(address, credentials, (error, bound) => (error ? reject(error) : resolve(bound))));
}

const closeServer = (server: http.Server | http2.Http2Server) =>
  new Promise<void>((resolve) => server.close(() => resolve()));
