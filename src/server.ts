import { readFileSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import type { DescService } from "@bufbuild/protobuf";
import { type ConnectRouter, cors } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as reflectionV1 from "../gen/grpc/reflection/v1/reflection_pb.js";
import * as reflectionV1alpha from "../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../gen/health/v1/health_pb.js";
import { AuditService } from "../gen/latchkey/v1/audit_pb.js";
import { IdentityService } from "../gen/latchkey/v1/identity_pb.js";
import { KeyService } from "../gen/latchkey/v1/key_pb.js";
import { KeyspaceService } from "../gen/latchkey/v1/keyspace_pb.js";
import { RbacService } from "../gen/latchkey/v1/rbac_pb.js";
import { RootKeyService } from "../gen/latchkey/v1/root_key_pb.js";
import { VerifyService } from "../gen/latchkey/v1/verify_pb.js";
import { WorkspaceService } from "../gen/latchkey/v1/workspace_pb.js";
import { AuditLog } from "./api/audit-log.js";
import { auditService } from "./api/audit-service/index.js";
import { Authenticator } from "./api/authentication.js";
import type { ServiceDeps } from "./api/deps.js";
import { addToGrpcJsServer } from "./api/grpc-js-adapter.js";
import { peerContextValues } from "./api/guard.js";
import { HealthState, healthService } from "./api/health.js";
import { identityService } from "./api/identity-service/index.js";
import { accessLog, domainErrors } from "./api/interceptors.js";
import { keyService } from "./api/key-service/index.js";
import { keyspaceService } from "./api/keyspace-service/index.js";
import { rbacService } from "./api/rbac-service/index.js";
import { reflectionServices } from "./api/reflection.js";
import { rootKeyService } from "./api/root-key-service/index.js";
import { verifyService } from "./api/verify-service/index.js";
import { workspaceService } from "./api/workspace-service/index.js";
import type { Config } from "./config.js";
import type { RandomSource } from "./domain/base58.js";
import type { Logger } from "./log.js";
import type { Store } from "./store/store.js";
import { createVerification, DEFAULT_VERIFICATION_OPTIONS, type Verification, type VerificationOptions } from "./verify/index.js";

export interface RunningServer {
  /** The HTTP/2 listener of the Connect router: gRPC, gRPC-Web and Connect. */
  port: number;
  /** The HTTP/1.1 listener for browsers, when enabled. */
  http1Port: number | undefined;
  /** The @grpc/grpc-js listener for native gRPC, when enabled. */
  grpcPort: number | undefined;
  /**
   * Stops accepting, lets in-flight calls finish (up to the configured timeout), closes connections,
   * then writes the last key uses. The store stays open: it belongs to the caller.
   */
  close(): Promise<void>;
}

export type ServerOptions = Pick<
  Config,
  "host" | "port" | "maxRequestBytes" | "corsAllowedOrigins" | "tlsCertFile" | "tlsKeyFile" | "shutdownTimeoutMs" | "adminToken"
> & {
  /** Undefined leaves the HTTP/1.1 listener off; 0 picks a free port. */
  http1Port: number | undefined;
  /** Undefined leaves the native gRPC listener off; 0 picks a free port. */
  grpcPort?: number;
  /** One log line per RPC; on unless turned off. */
  accessLog?: boolean;
  store: Store;
  log: Logger;
  verification?: VerificationOptions;
  now?: () => number;
  random?: RandomSource;
};

export const API_SERVICES: readonly DescService[] = [
  WorkspaceService,
  RootKeyService,
  KeyspaceService,
  KeyService,
  VerifyService,
  IdentityService,
  RbacService,
  AuditService,
];

/** What the handlers share: one set per instance, for a listening server and for in-process tests alike. */
export function serviceDeps(
  options: { store: Store; now: () => number; log: Logger; random?: RandomSource; adminToken?: string },
  verification: Verification,
): ServiceDeps {
  const { store, now, log, random } = options;
  return {
    store,
    now,
    random,
    changes: verification.changes,
    verifier: verification.verifier,
    access: new Authenticator(store, now, options.adminToken),
    audit: new AuditLog(store, now, log),
  };
}

/** Every service and its implementation, for whichever server carries them. */
export function serviceImplementations(deps: ServiceDeps, health: HealthState): [DescService, object][] {
  const reflection = reflectionServices([...API_SERVICES, Health, reflectionV1.ServerReflection, reflectionV1alpha.ServerReflection]);
  return [
    [WorkspaceService, workspaceService(deps)],
    [RootKeyService, rootKeyService(deps)],
    [KeyspaceService, keyspaceService(deps)],
    [KeyService, keyService(deps)],
    [VerifyService, verifyService(deps)],
    [IdentityService, identityService(deps)],
    [RbacService, rbacService(deps)],
    [AuditService, auditService(deps)],
    [Health, healthService(health)],
    [reflectionV1.ServerReflection, reflection.v1],
    [reflectionV1alpha.ServerReflection, reflection.v1alpha],
  ];
}

/** The Connect router's routes and interceptors, for a listening server and for in-process test transports alike. */
export function apiHandlers(services: readonly [DescService, object][], log: Logger, logEachCall = true) {
  return {
    routes(router: ConnectRouter) {
      for (const [service, implementation] of services) router.service(service, implementation as never);
    },
    interceptors: logEachCall ? [accessLog(log), domainErrors(log)] : [domainErrors(log)],
  };
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { log } = options;
  const logEachCall = options.accessLog ?? true;
  const now = options.now ?? Date.now;
  const verification = createVerification(options.store, now, log, options.verification ?? DEFAULT_VERIFICATION_OPTIONS);
  const deps = serviceDeps({ ...options, now }, verification);
  const health = new HealthState([...API_SERVICES, Health].map((service) => service.typeName));
  const shutdown = new AbortController();
  const tls = options.tlsCertFile ? { cert: readFileSync(options.tlsCertFile), key: readFileSync(options.tlsKeyFile!) } : undefined;

  const services = serviceImplementations(deps, health);
  const handler = withCors(
    connectNodeAdapter({
      ...apiHandlers(services, log, logEachCall),
      readMaxBytes: options.maxRequestBytes,
      contextValues: (request) => peerContextValues(request.socket.remoteAddress),
    }),
    options.corsAllowedOrigins,
  );
  const sessions = new Set<http2.ServerHttp2Session>();
  const main = tls ? http2.createSecureServer({ ...tls, allowHTTP1: true }, handler) : http2.createServer(handler);
  main.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  // Destroying a session does not always release its socket; at the deadline the sockets go too.
  const sockets = new Set<Socket>();
  main.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  const browser = options.http1Port === undefined ? undefined : http.createServer(handler);

  let native: grpc.Server | undefined;
  if (options.grpcPort !== undefined) {
    native = new grpc.Server({ "grpc.max_receive_message_length": options.maxRequestBytes, "grpc.enable_channelz": 0 });
    for (const [service, implementation] of services) {
      addToGrpcJsServer(native, service, implementation, { log, logEachCall, shutdownSignal: shutdown.signal });
    }
  }

  verification.start();
  const port = await listen(main, options.host, options.port);
  const http1Port = browser ? await listen(browser, options.host, options.http1Port!) : undefined;
  const grpcPort = native ? await bindGrpc(native, options.host, options.grpcPort!, tls) : undefined;

  return {
    port,
    http1Port,
    grpcPort,
    async close() {
      health.set(HealthCheckResponse_ServingStatus.NOT_SERVING);
      health.close();
      // grpc-js never calls back a graceful shutdown that forceShutdown cut short, so either ends the wait.
      let nativeClosed = () => {};
      const nativeDone = new Promise<void>((resolve) => (nativeClosed = resolve));
      if (native) native.tryShutdown(() => nativeClosed());
      else nativeClosed();
      const closed = Promise.all([closeServer(main), browser ? closeServer(browser) : undefined, nativeDone]);
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

type NodeHandler = (request: http.IncomingMessage | http2.Http2ServerRequest, response: http.ServerResponse | http2.Http2ServerResponse) => void;

/** Lets browsers on the allowed origins call the API, answering their preflight requests here. */
function withCors(handler: NodeHandler, allowedOrigins: readonly string[]): NodeHandler {
  const allowed = (origin: string) => allowedOrigins.includes("*") || allowedOrigins.includes(origin);
  return (request, response) => {
    const origin = request.headers.origin;
    if (typeof origin === "string" && allowed(origin)) {
      response.setHeader("access-control-allow-origin", origin);
      response.setHeader("vary", "origin");
      response.setHeader("access-control-expose-headers", cors.exposedHeaders.join(", "));
      if (request.method === "OPTIONS") {
        response.setHeader("access-control-allow-methods", cors.allowedMethods.join(", "));
        response.setHeader("access-control-allow-headers", [...cors.allowedHeaders, "Authorization"].join(", "));
        response.setHeader("access-control-max-age", "7200");
        response.writeHead(204);
        response.end();
        return;
      }
    }
    handler(request, response);
  };
}

function listen(server: http.Server | http2.Http2Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function bindGrpc(server: grpc.Server, host: string, port: number, tls: { cert: Buffer; key: Buffer } | undefined): Promise<number> {
  const credentials = tls
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: tls.cert, private_key: tls.key }], false)
    : grpc.ServerCredentials.createInsecure();
  const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => server.bindAsync(address, credentials, (error, bound) => (error ? reject(error) : resolve(bound))));
}

const closeServer = (server: http.Server | http2.Http2Server) =>
  new Promise<void>((resolve) => server.close(() => resolve()));
