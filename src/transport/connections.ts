import type http2 from "node:http2";
import type { Socket } from "node:net";
import type * as grpc from "@grpc/grpc-js";

/**
 * What one HTTP/2 connection may hold open at once, told to clients in SETTINGS: without it a single
 * client could open thousands of streams (Health/Watch among them) and hold their memory.
 */
export const MAX_CONCURRENT_STREAMS = 100;
/** A connection with no stream activity for this long is closed; clients reconnect when they need to. */
export const IDLE_CONNECTION_MS = 5 * 60_000;

export interface ConnectionLimits {
  /** Connections each listener holds at once; more are refused at accept. */
  maxConnections: number;
  /** A connection older than this is asked to go away (HTTP/2 GOAWAY: calls under way finish), so load spreads again after scaling. */
  maxAgeMs: number;
}
export const CONNECTION_LIMITS: ConnectionLimits = { maxConnections: 10_000, maxAgeMs: 30 * 60_000 };
/** How long calls under way on a connection past its age may still take before it is closed. */
export const CONNECTION_AGE_GRACE_MS = 60_000;

/** The HTTP/2 listener's connections, aged and idled out as the limits say, for a shutdown to close and, past its deadline, destroy. */
export interface Http2Connections {
  /** Asks every connection to go away: calls under way finish. */
  closeAll(): void;
  /** Cuts every connection at once. */
  destroyAll(): void;
}

export function manageHttp2Connections(server: http2.Http2Server | http2.Http2SecureServer, limits: ConnectionLimits): Http2Connections {
  const sessions = new Set<http2.ServerHttp2Session>();
  server.maxConnections = limits.maxConnections;
  server.on("session", (session) => {
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
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  return {
    closeAll() {
      for (const session of sessions) session.close();
    },
    destroyAll() {
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
    },
  };
}

/** The same limits for the native gRPC listener, in grpc-js's own options. */
export const grpcJsConnectionOptions = (limits: ConnectionLimits): grpc.ServerOptions => ({
  "grpc.max_concurrent_streams": MAX_CONCURRENT_STREAMS,
  "grpc.max_connection_idle_ms": IDLE_CONNECTION_MS,
  "grpc.max_connection_age_ms": limits.maxAgeMs,
  "grpc.max_connection_age_grace_ms": CONNECTION_AGE_GRACE_MS,
});
