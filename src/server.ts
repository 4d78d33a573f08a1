import { readFileSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import type { DescService } from "@bufbuild/protobuf";
import { type ConnectRouter, cors } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "../gen/health/v1/health_pb.js";
import * as reflectionV1 from "../gen/grpc/reflection/v1/reflection_pb.js";
import * as reflectionV1alpha from "../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { KeyService } from "../gen/latchkey/v1/key_pb.js";
import { KeyspaceService } from "../gen/latchkey/v1/keyspace_pb.js";
import { VerifyService } from "../gen/latchkey/v1/verify_pb.js";
import type { ServiceDeps } from "./api/deps.js";
import { HealthState, healthService } from "./api/health.js";
import { accessLog, domainErrors } from "./api/interceptors.js";
import { keyService } from "./api/key-service/index.js";
import { keyspaceService } from "./api/keyspace-service/index.js";
import { reflectionServices } from "./api/reflection.js";
import { verifyService } from "./api/verify-service/index.js";
import type { Config } from "./config.js";
import type { Logger } from "./log.js";
import type { RandomSource } from "./domain/base58.js";
import type { Store } from "./store/store.js";
import { createVerification, DEFAULT_VERIFICATION_OPTIONS, type VerificationOptions } from "./verify/index.js";

export interface RunningServer {
  /** The HTTP/2 listener: gRPC, gRPC-Web and Connect. */
  port: number;
  /** The HTTP/1.1 listener for browsers, when enabled. */
  http1Port: number | undefined;
  /**
   * Stops accepting, lets in-flight calls finish (up to the configured timeout), closes connections,
   * then writes the last key uses. The store stays open: it belongs to the caller.
   */
  close(): Promise<void>;
}

export type ServerOptions = Pick<Config, "host" | "port" | "maxRequestBytes" | "corsAllowedOrigins" | "tlsCertFile" | "tlsKeyFile" | "shutdownTimeoutMs"> & {
  /** Undefined leaves the HTTP/1.1 listener off; 0 picks a free port. */
  http1Port: number | undefined;
  store: Store;
  log: Logger;
  verification?: VerificationOptions;
  now?: () => number;
  random?: RandomSource;
};

export const API_SERVICES: readonly DescService[] = [KeyspaceService, KeyService, VerifyService];

/** The routes and interceptors of every service, for a listening server and for in-process test transports alike. */
export function apiHandlers(deps: ServiceDeps, health: HealthState, log: Logger) {
  const reflection = reflectionServices([...API_SERVICES, Health, reflectionV1.ServerReflection, reflectionV1alpha.ServerReflection]);
  return {
    routes(router: ConnectRouter) {
      router.service(KeyspaceService, keyspaceService(deps));
      router.service(KeyService, keyService(deps));
      router.service(VerifyService, verifyService(deps));
      router.service(Health, healthService(health));
      router.service(reflectionV1.ServerReflection, reflection.v1);
      router.service(reflectionV1alpha.ServerReflection, reflection.v1alpha);
    },
    interceptors: [accessLog(log), domainErrors(log)],
  };
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { log } = options;
  const now = options.now ?? Date.now;
  const verification = createVerification(options.store, now, log, options.verification ?? DEFAULT_VERIFICATION_OPTIONS);
  const deps: ServiceDeps = { store: options.store, now, random: options.random, changes: verification.changes, verifier: verification.verifier };
  const health = new HealthState([...API_SERVICES, Health].map((service) => service.typeName));
  const api = apiHandlers(deps, health, log);
  const handler = withCors(
    connectNodeAdapter({ ...api, readMaxBytes: options.maxRequestBytes }),
    options.corsAllowedOrigins,
  );

  const sessions = new Set<http2.ServerHttp2Session>();
  const main = options.tlsCertFile
    ? http2.createSecureServer(
        { cert: readFileSync(options.tlsCertFile), key: readFileSync(options.tlsKeyFile!), allowHTTP1: true },
        handler,
      )
    : http2.createServer(handler);
  main.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  const browser = options.http1Port === undefined ? undefined : http.createServer(handler);
  verification.start();
  const port = await listen(main, options.host, options.port);
  const http1Port = browser ? await listen(browser, options.host, options.http1Port!) : undefined;

  return {
    port,
    http1Port,
    async close() {
      health.set(HealthCheckResponse_ServingStatus.NOT_SERVING);
      health.close();
      const closed = Promise.all([closeServer(main), browser ? closeServer(browser) : undefined]);
      for (const session of sessions) session.close();
      browser?.closeIdleConnections();
      const timer = setTimeout(() => {
        log.warn("shutdown timeout reached, closing remaining connections");
        for (const session of sessions) session.destroy();
        browser?.closeAllConnections();
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

const closeServer = (server: http.Server | http2.Http2Server) =>
  new Promise<void>((resolve) => server.close(() => resolve()));
