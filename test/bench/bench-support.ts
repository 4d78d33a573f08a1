import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { get } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Client } from "@connectrpc/connect";
import type { KeyService } from "../../gen/latchkey/v1/key_pb.js";
import { GO_BIN } from "../support/go-tools.js";

export const round = (value: number) => Math.round(value * 100) / 100;

/**
 * An instance's Prometheus text, read from its own /metrics on a connection of its own: the bench
 * blocks its event loop while a load generator runs, so a kept-alive connection would be found
 * closed by the server only when reused.
 */
export function scrapeMetrics(metricsPort: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: "127.0.0.1", port: metricsPort, path: "/metrics", agent: false }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () => resolve(text));
      response.on("error", reject);
    }).on("error", reject);
  });
}

/** The sum of every series of one metric whose labels include all of `labels` (as `name="value"`). */
export function metricSum(text: string, metric: string, labels: readonly string[] = []): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${metric}{`) && !line.startsWith(`${metric} `)) continue;
    if (labels.every((label) => line.includes(label))) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

/**
 * The Go load generator (test/bench/loadgen), built at its first use in a process: Go's build
 * cache makes every later build instant.
 */
export function loadGenerator(): string {
  const binary = join(GO_BIN, "latchkey-bench-loadgen");
  if (!loadGeneratorBuilt) {
    mkdirSync(GO_BIN, { recursive: true });
    execFileSync("go", ["build", "-o", binary, "."], { cwd: fileURLToPath(new URL("./loadgen/", import.meta.url)), stdio: "inherit" });
    loadGeneratorBuilt = true;
  }
  return binary;
}
let loadGeneratorBuilt = false;

/** h2load (Debian's nghttp2-client), installed at its first use on a machine without it. */
export function ensureH2load() {
  try {
    execFileSync("h2load", ["--version"], { stdio: "ignore" });
  } catch {
    console.error("h2load not found; installing Debian's nghttp2-client");
    execFileSync("sh", ["-c", "apt-get update -qq && apt-get install -y -qq nghttp2-client"], { stdio: "inherit" });
  }
}

/** The middle value, or the mean of the two middle ones. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * Runs each of `kinds` once per round, each round starting one further along, so that no kind
 * always runs first or after the same other: what a shared machine did meanwhile falls on every
 * kind alike. Returns each round's results by kind.
 */
export async function alternatingRounds<Kind extends string, Result>(
  kinds: readonly Kind[],
  rounds: number,
  run: (kind: Kind) => Result | Promise<Result>,
): Promise<Record<Kind, Result>[]> {
  const results: Record<Kind, Result>[] = [];
  for (let round = 0; round < rounds; round++) {
    const ofRound = {} as Record<Kind, Result>;
    for (let turn = 0; turn < kinds.length; turn++) {
      const kind = kinds[(round + turn) % kinds.length]!;
      ofRound[kind] = await run(kind);
    }
    results.push(ofRound);
  }
  return results;
}

/** The rates of one run with a feature on and one with it off, one right after the other. */
export interface OnOffPair {
  on: number;
  off: number;
}

/**
 * What alternating on/off pairs say: the median of the pairs' on/off ratios (one pair's ratio
 * moves with whatever else the shared machine ran during it, the median of several much less),
 * the lowest and highest ratio (the spread), and each side's median rate.
 */
export function pairedRatio(pairs: readonly OnOffPair[]) {
  const ratios = pairs.map((pair) => pair.on / pair.off);
  return {
    ratio: median(ratios),
    lowest: Math.min(...ratios),
    highest: Math.max(...ratios),
    on: median(pairs.map((pair) => pair.on)),
    off: median(pairs.map((pair) => pair.off)),
  };
}

/** A paired ratio as the bench's last line names it: `<name>_paired`, with `_lowest` and `_highest` for its spread. */
export const pairedFigures = (name: string, paired: ReturnType<typeof pairedRatio>) => ({
  [`${name}_paired`]: round(paired.ratio),
  [`${name}_paired_lowest`]: round(paired.lowest),
  [`${name}_paired_highest`]: round(paired.highest),
});

/** The environment of a service on the in-memory store, as the benches start it: loopback, native gRPC on `grpcPort`, no access log. */
export const inMemoryServiceEnv = (grpcPort: number, adminToken: string) => ({
  MONGODB_URI: "",
  HOST: "127.0.0.1",
  PORT: "0",
  HTTP1_PORT: "0",
  METRICS_PORT: "0",
  GRPC_PORT: String(grpcPort),
  ADMIN_TOKEN: adminToken,
  ACCESS_LOG: "false",
});

/** The same service on MongoDB at `uri`, in `database`, with its metrics on `metricsPort`. */
export const mongoServiceEnv = (grpcPort: number, adminToken: string, uri: string, database: string, metricsPort: number) => ({
  ...inMemoryServiceEnv(grpcPort, adminToken),
  MONGODB_URI: uri,
  MONGODB_DATABASE: database,
  METRICS_PORT: String(metricsPort),
});

/**
 * The keys the per-call figures verify, in one keyspace, each with the permission the bench's
 * requests ask for: a plain key, one with credits (every verification spends one) and one with a
 * rate limit high enough never to refuse.
 */
export async function perCallKeys(keys: Client<typeof KeyService>, keyspaceId: string) {
  const permissions = ["documents.read"];
  const plain = await keys.createKey({ key: { keyspaceId, permissions } });
  const withCredits = await keys.createKey({ key: { keyspaceId, permissions, credits: { remaining: 1_000_000_000n } } });
  const rateLimited = await keys.createKey({
    key: { keyspaceId, permissions, rateLimits: [{ name: "api", limit: 1_000_000_000n, durationMs: 60_000n, autoApply: true }] },
  });
  return { secret: plain.secret, creditsSecret: withCredits.secret, rateLimitedSecret: rateLimited.secret };
}
