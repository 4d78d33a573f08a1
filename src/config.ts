import { type KeyEncryptionKey, parseKeyEncryptionKeys } from "./domain/secret-vault.js";
import type { LogLevel } from "./observability/log.js";
import type { VerificationOptions } from "./verify/index.js";

/** Every setting comes from the environment; docs/configuration.md lists them with their defaults. */
export interface Config {
  host: string;
  /** HTTP/2 (cleartext, or TLS with HTTP/1.1 too when a certificate is set): gRPC, gRPC-Web and Connect. */
  port: number;
  /** HTTP/1.1 for browsers' Connect and gRPC-Web clients; 0 turns it off. */
  http1Port: number;
  /** Native gRPC through @grpc/grpc-js, the fastest path for verification; 0 turns it off. */
  grpcPort: number;
  /** Prometheus text at /metrics; 0 turns it off. */
  metricsPort: number;
  /** Where the metrics listener listens: loopback unless set, whatever HOST is, so metrics reach no network by accident. */
  metricsHost: string;
  mongodbUri: string | undefined;
  /**
   * Without MONGODB_URI the service runs on an in-memory store, which loses every key on restart:
   * with NODE_ENV=production that is refused unless asked for explicitly.
   */
  inMemoryStoreAllowed: boolean;
  /**
   * Outside production, the in-memory store starts with a workspace whose root key is logged, so a
   * first run needs no ADMIN_TOKEN; with NODE_ENV=production there is never one.
   */
  developmentWorkspace: boolean;
  mongodbDatabase: string;
  maxRequestBytes: number;
  corsAllowedOrigins: string[];
  tlsCertFile: string | undefined;
  tlsKeyFile: string | undefined;
  shutdownTimeoutMs: number;
  storeTimeoutMs: number;
  /** Seal recoverable keys' secrets, newest first; none means no keyspace can be recoverable. */
  keyEncryptionKeys: KeyEncryptionKey[];
  /** The operator's secret for CreateWorkspace; unset, no workspace can be created through the API. */
  adminToken: string | undefined;
  logLevel: LogLevel;
  /** One log line per RPC; at tens of thousands of verifications a second, worth turning off. */
  accessLog: boolean;
  verification: VerificationOptions;
  /** The console in the browser at /console on the browser listeners (docs/console.md); on outside production unless turned off. */
  consoleEnabled: boolean;
}

const LOG_LEVELS: readonly LogLevel[] = ["info", "warn", "error", "silent"];

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const tlsCertFile = env.TLS_CERT_FILE || undefined;
  const tlsKeyFile = env.TLS_KEY_FILE || undefined;
  if (Boolean(tlsCertFile) !== Boolean(tlsKeyFile)) throw new Error("TLS_CERT_FILE and TLS_KEY_FILE must be set together");
  const logLevel = (env.LOG_LEVEL || "info") as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new Error(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}`);
  return {
    host: env.HOST || "127.0.0.1",
    port: integer(env, "PORT", 8080, 0, 65535),
    http1Port: integer(env, "HTTP1_PORT", 8081, 0, 65535),
    grpcPort: integer(env, "GRPC_PORT", 50051, 0, 65535),
    metricsPort: integer(env, "METRICS_PORT", 9464, 0, 65535),
    metricsHost: env.METRICS_HOST || "127.0.0.1",
    mongodbUri: env.MONGODB_URI || undefined,
    inMemoryStoreAllowed: env.NODE_ENV !== "production" || boolean(env, "ALLOW_IN_MEMORY_STORE", false),
    developmentWorkspace: env.NODE_ENV !== "production" && !env.MONGODB_URI,
    mongodbDatabase: env.MONGODB_DATABASE || "latchkey",
    maxRequestBytes: integer(env, "MAX_REQUEST_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024),
    corsAllowedOrigins: corsOrigins(env.CORS_ALLOWED_ORIGINS ?? ""),
    tlsCertFile,
    tlsKeyFile,
    shutdownTimeoutMs: integer(env, "SHUTDOWN_TIMEOUT_MS", 10_000, 0, 600_000),
    storeTimeoutMs: integer(env, "STORE_TIMEOUT_MS", 5000, 100, 60_000),
    adminToken: adminToken(env.ADMIN_TOKEN),
    keyEncryptionKeys: parseKeyEncryptionKeys(env.KEY_ENCRYPTION_KEYS ?? ""),
    logLevel,
    accessLog: boolean(env, "ACCESS_LOG", true),
    consoleEnabled: boolean(env, "CONSOLE_ENABLED", env.NODE_ENV !== "production"),
    verification: {
      cacheMaxKeys: integer(env, "CACHE_MAX_KEYS", 100_000, 1, 10_000_000),
      cacheMaxBytes: integer(env, "CACHE_MAX_BYTES", 256 * 1024 * 1024, 1024 * 1024, 64 * 1024 * 1024 * 1024),
      cacheMaxMisses: integer(env, "CACHE_MAX_MISSES", 100_000, 1, 10_000_000),
      cacheWorkspaceSharePercent: integer(env, "CACHE_WORKSPACE_SHARE_PERCENT", 50, 1, 100),
      changePollMs: integer(env, "CHANGE_POLL_MS", 200, 10, 1000),
      usageFlushMs: integer(env, "USAGE_FLUSH_MS", 2000, 100, 60_000),
      lastUsedResolutionMs: integer(env, "LAST_USED_RESOLUTION_MS", 60_000, 0, 86_400_000),
      creditShareLeaseMs: integer(env, "CREDIT_SHARE_LEASE_MS", 15_000, 300, 600_000),
      analytics: {
        enabled: boolean(env, "ANALYTICS_ENABLED", true),
        flushMs: integer(env, "ANALYTICS_FLUSH_MS", 5000, 100, 60_000),
        maxGroupsPerMinute: integer(env, "ANALYTICS_MAX_GROUPS_PER_MINUTE", 10_000, 1, 1_000_000),
        retention: {
          minute: days(env, "ANALYTICS_MINUTE_RETENTION_DAYS", 7),
          hour: days(env, "ANALYTICS_HOUR_RETENTION_DAYS", 92),
          day: days(env, "ANALYTICS_DAY_RETENTION_DAYS", 731),
          month: days(env, "ANALYTICS_MONTH_RETENTION_DAYS", 3660),
        },
      },
    },
  };
}

/**
 * Browsers may call only from origins named here; none by default. A wildcard is refused: any site
 * could then drive a visitor's browser to send whatever credentials the page holds.
 */
function corsOrigins(raw: string): string[] {
  const origins = raw
    .split(",")
    .map((origin) => origin.trim())
    .filter(Boolean);
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || parsed.origin !== origin || origin.includes("*") || !["http:", "https:"].includes(parsed.protocol)) {
      throw new Error(`CORS_ALLOWED_ORIGINS must list origins such as https://app.example.com, separated by commas, and not ${origin}`);
    }
  }
  return origins;
}

const MIN_ADMIN_TOKEN_LENGTH = 32;

function adminToken(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  if (raw.length < MIN_ADMIN_TOKEN_LENGTH || /\s/.test(raw)) {
    throw new Error(`ADMIN_TOKEN must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters without spaces, such as the output of openssl rand -hex 32`);
  }
  return raw;
}

const days = (env: NodeJS.ProcessEnv, name: string, fallback: number) => integer(env, name, fallback, 1, 36_600) * 86_400_000;

function boolean(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (raw !== "true" && raw !== "false") throw new Error(`${name} must be true or false`);
  return raw === "true";
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name} must be an integer from ${min} to ${max}`);
  return value;
}
