/**
 * `npm run bench`: verification throughput and latency on loopback, each figure next to a
 * baseline measured in the same run. The service runs in a process of its own and h2load (Debian's
 * nghttp2-client) generates load from another, so the load generator does not eat the server's core.
 * The last line printed is one JSON object with every figure. BENCH_SECONDS sets the length of each run;
 * BENCH_CPU_PROFILE_DIR, when set, makes every service write a V8 CPU profile there,
 * BENCH_NODE_FLAGS adds Node and V8 flags to every service (such as --max-semi-space-size or --trace-gc),
 * BENCH_LOG_DIR keeps their log lines (service-<pid>.log), which are dropped otherwise, and
 * BENCH_TIMELINE names a file the load generator appends each run's per-second latencies to. The MongoDB
 * section (two instances, the test harness's MongoDB) runs too unless BENCH_MONGODB=0;
 * BENCH_ONLY=analytics-query runs its GetVerifications figures alone; BENCH_ONLY=mongodb the MongoDB
 * verification and Limit runs alone.
 * Both sections also measure the same VerifyKey load with verification analytics off
 * (ANALYTICS_ENABLED=false), and the MongoDB section the analytics documents written per second and
 * GetVerifications over 30 days of hourly rows for 1,000 keys.
 * RatelimitService.Limit is measured beside VerifyKey, in memory and on MongoDB, with the store
 * calls it made per 1,000 decisions (read from each service's /metrics).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { HealthCheckRequestSchema } from "../../gen/health/v1/health_pb.js";
import { AnalyticsService, Granularity, VerificationGrouping } from "../../gen/latchkey/v1/analytics_pb.js";
import { KeyService } from "../../gen/latchkey/v1/key_pb.js";
import { KeyspaceService } from "../../gen/latchkey/v1/keyspace_pb.js";
import { LimitRequestSchema } from "../../gen/latchkey/v1/ratelimit_pb.js";
import { VerifyKeyRequestSchema, VerifyKeysRequestSchema, VerifyCode, VerifyService } from "../../gen/latchkey/v1/verify_pb.js";
import { WorkspaceService } from "../../gen/latchkey/v1/workspace_pb.js";
import { createLogger } from "../../src/observability/log.js";
import { MemoryStore } from "../../src/store/memory.js";
import { createVerification, DEFAULT_VERIFICATION_OPTIONS } from "../../src/verify/index.js";
import { parsePermissionQuery } from "../../src/domain/permission-query.js";
import { issueSecret } from "../../src/domain/secret.js";
import { bearer } from "../support/auth.js";
import type { KeyRecord } from "../../src/domain/key.js";
import { MongoStore } from "../../src/store/mongodb.js";
import { bucketStart, DEFAULT_RETENTION } from "../../src/domain/analytics/buckets.js";
import type { MinuteCount } from "../../src/domain/analytics/counts.js";
import { documentsOf } from "../../src/domain/analytics/documents.js";
import { newId } from "../../src/domain/ids.js";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { keyRecord, keyspaceRecord, verifyRequest } from "../support/fixtures.js";
import { forEachChunk } from "../../src/verify/chunks.js";
import { startTestMongo } from "../support/mongodb.js";
import { freePort } from "../support/free-port.js";
import {
  alternatingRounds,
  inMemoryServiceEnv,
  loadGenerator,
  mongoServiceEnv,
  median,
  metricSum,
  type OnOffPair,
  pairedFigures,
  pairedRatio,
  round,
  scrapeMetrics,
  ensureH2load,
} from "./bench-support.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CLIENTS = 8;
const STREAMS = 16;
const work = mkdtempSync(join(tmpdir(), "latchkey-bench-"));
const children: ChildProcess[] = [];
/** The metrics port each started service logged, by the port it returned. */
const metricsPorts = new Map<number, number>();

/** Node's flags for every service: BENCH_NODE_FLAGS, and a V8 CPU profile written when it stops if BENCH_CPU_PROFILE_DIR asks for one. */
const serviceNodeFlags = () => [
  ...(process.env.BENCH_NODE_FLAGS?.split(" ").filter(Boolean) ?? []),
  ...(process.env.BENCH_CPU_PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE_DIR}`] : []),
];

/** Starts a process that prints "PORT <n>" or a JSON log line with a port once it listens. */
async function startProcess(args: string[], env: Record<string, string> = {}, nodeFlags: string[] = []): Promise<number> {
  const child = spawn(process.execPath, [...nodeFlags, "--import", "tsx", ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "inherit"],
  });
  children.push(child);
  for await (const line of createInterface({ input: child.stdout! })) {
    const plain = /^PORT (\d+)$/.exec(line);
    if (plain) return Number(plain[1]);
    if (line.includes('"listening"')) {
      const logDir = process.env.BENCH_LOG_DIR;
      if (logDir) {
        mkdirSync(logDir, { recursive: true });
        child.stdout!.pipe(createWriteStream(join(logDir, `service-${child.pid}.log`)));
      } else child.stdout!.resume();
      const entry = JSON.parse(line);
      if (typeof entry.metricsPort === "number") metricsPorts.set(entry.port, entry.metricsPort);
      return entry.port;
    }
  }
  throw new Error(`${args.join(" ")} exited before listening`);
}

/** Stops the process started last, and waits until it has gone. */
function stopLastProcess() {
  const child = children.pop()!;
  child.kill("SIGTERM");
  return new Promise((resolve) => child.once("exit", resolve));
}

const grpcFrame = (message: Uint8Array) => {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
};

/** The benchmark workspace's root key, sent with every request. */
let rootKey = "";

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  failed: number;
  /** The load generator's own CPU time (ours reports it, h2load does not). */
  cpuSeconds?: number;
}

/** Runs h2load against one procedure and reads its per-request log for percentiles. */
function load(url: string, body: Uint8Array, protocol: "grpc" | "connect", shape = { clients: CLIENTS, streams: STREAMS }, seconds = SECONDS): LoadResult {
  // Every request carries the root key, the empty baselines too, so all send the same header bytes.
  const bodyFile = join(work, "body.bin");
  const logFile = join(work, "requests.log");
  writeFileSync(bodyFile, body);
  rmSync(logFile, { force: true });
  const headers =
    protocol === "grpc"
      ? ["-H", "content-type: application/grpc", "-H", "te: trailers"]
      : ["-H", "content-type: application/proto", "-H", "connect-protocol-version: 1"];
  const output = execFileSync(
    "h2load",
    [
      "-c",
      String(shape.clients),
      "-m",
      String(shape.streams),
      "-t",
      "1",
      "-D",
      String(seconds),
      "--warm-up-time",
      "1",
      "-d",
      bodyFile,
      ...headers,
      "-H",
      `authorization: Bearer ${rootKey}`,
      "--log-file",
      logFile,
      url,
    ],
    { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
  );
  const rps = Number(/finished in [\d.]+s, ([\d.]+) req\/s/.exec(output)?.[1]);
  const failed = Number(/(\d+) failed/.exec(output)?.[1] ?? 0) + Number(/(\d+) errored/.exec(output)?.[1] ?? 0);
  const latencies = readFileSync(logFile, "utf8")
    .trim()
    .split("\n")
    .map((line) => Number(line.split("\t")[2]) / 1000)
    .sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { rps, p50: at(0.5), p99: at(0.99), failed };
}

async function inProcessVerificationsPerSecond(): Promise<number> {
  const store = new MemoryStore();
  const verification = createVerification(store, Date.now, createLogger("silent"), DEFAULT_VERIFICATION_OPTIONS);
  const keyspace = keyspaceRecord();
  const issued = issueSecret("lk", 16, 4);
  await store.keyspaces.insert(keyspace);
  await store.insertKey(keyRecord({ keyspaceId: keyspace.id, hash: issued.digest, permissions: ["documents.read"] }));
  const request = verifyRequest(issued.secret, keyspace.workspaceId, { permissionQuery: parsePermissionQuery("documents.read", "query") });
  const run = async (count: number) => {
    for (let i = 0; i < count; i++) {
      const result = await verification.verifier.verify(request);
      if (result.verdict !== "valid") throw new Error(`unexpected verdict ${result.verdict}`);
    }
  };
  await run(20_000);
  const count = 300_000;
  const started = performance.now();
  await run(count);
  return Math.round(count / ((performance.now() - started) / 1000));
}

/** Runs the load generator in a process of its own on these frames, spread over the instances. */
function generate(urls: string[], frames: Uint8Array[], options: { rate?: number; seconds?: number; path?: string } = {}): LoadResult {
  const framesFile = join(work, "frames.bin");
  writeFileSync(framesFile, Buffer.concat(frames.map((frame) => grpcFrame(frame))));
  const job = {
    urls,
    path: VERIFY_PATH,
    rootKey,
    framesFile,
    connections: 8,
    streams: 16,
    warmupSeconds: 1,
    timelineFile: process.env.BENCH_TIMELINE,
    ...options,
    seconds: options.seconds ?? SECONDS,
  };
  const output = execFileSync(loadGenerator(), [], { input: JSON.stringify(job), encoding: "utf8" });
  return JSON.parse(output.trim().split("\n").at(-1)!) as LoadResult;
}

const MONGO_KEYS = 10_000;
const VERIFY_PATH = "/latchkey.v1.VerifyService/VerifyKey";
const LIMIT_PATH = "/latchkey.v1.RatelimitService/Limit";

/** A Limit request with room enough never to refuse: the cost of counting, not of refusing. */
const limitBody = (identifier: string) =>
  toBinary(LimitRequestSchema, create(LimitRequestSchema, { namespace: "bench", identifier, limit: 1_000_000_000n, durationMs: 60_000n }));

/** Runs `measure`, and says how many store calls of rate limiting it cost per 1,000 Limit decisions. */
async function withStoreCalls<T>(metricsPortsOfServices: readonly number[], measure: () => T): Promise<[T, number]> {
  const before = await instanceCounts(metricsPortsOfServices);
  const result = measure();
  const since = countsSince(before, await instanceCounts(metricsPortsOfServices));
  return [result, round((storeCallsOf(since, (method) => method.startsWith("ratelimits.")) * 1000) / Math.max(1, since.decisions))];
}
/** Keys of the skewed workload, drawn with Zipf's law: a few hot, a long tail. */
const ZIPF_KEYS = Number(process.env.BENCH_ZIPF_KEYS ?? 100_000);
const ZIPF_EXPONENT = 1.1;
const ZIPF_REQUESTS = 200_000;
/**
 * Each MongoDB run lasts long enough for every time limit an instance keeps to pass inside the
 * measured part: the key cache's 60 s backstop and the credit-share lease. BENCH_SECONDS
 * shortens it for a quick look, which then measures less than the steady state.
 */
const MONGO_SECONDS = process.env.BENCH_SECONDS ? SECONDS : 75;
/**
 * On/off pairs of the tagged MongoDB runs, sharing the time two runs of MONGO_SECONDS took when
 * the instances restarted between one on run and one off run.
 */
const MONGO_ANALYTICS_PAIRS = 4;
/**
 * Rounds of peak runs of plain, credit and rate-limited keys in turn, each round in another
 * order, after each kind's long runs: a plain run and a credits run minutes apart compare two
 * moments of the shared machine as much as two kinds of key; the median of the rounds' ratios
 * compares the kinds.
 */
const MONGO_KIND_ROUNDS = 3;
/**
 * Rounds of the bare grpc-js server's empty RPC, ours and VerifyKey on the native port, each round
 * in another order: the single runs before them are seconds apart and moved the ratio by a tenth
 * between runs of the same code.
 */
const NATIVE_ROUNDS = 5;
const MONGO_KIND_ROUND_SECONDS = Math.max(5, Math.round((2 * MONGO_SECONDS) / 5));
const ROUND_KINDS = ["plain", "credits", "ratelimited"];
/** The instances' analytics flush interval (ANALYTICS_FLUSH_MS, left at its default). */
const ANALYTICS_FLUSH_MS = 5000;
/** How long the analytics instances may take to write what a run left them: mongo-java-server applies one to two thousand documents a second. */
const ANALYTICS_SETTLE_DEADLINE_MS = 180_000;
/** Keys verified per call while warming up: each may take a credit share, and a thousand at once can outlast the store timeout on a busy machine. */
const WARM_BATCH = 200;

interface InstanceCounts {
  /** Store calls by method (`findKeyByHash`, `ratelimits.reserve`…). */
  storeCalls: Map<string, number>;
  verifications: number;
  /** RatelimitService.Limit calls answered. */
  decisions: number;
  /** CPU time of the instances' processes. */
  cpuSeconds: number;
  /** Their garbage-collection pauses, all kinds. */
  gcSeconds: number;
  /** The longest event-loop delay of any instance since its previous scrape. */
  eventLoopMaxSeconds: number;
}

/** What the instances counted themselves, summed over them: store calls by method, verifications and Limit decisions answered. */
async function instanceCounts(metricsPorts: readonly number[]): Promise<InstanceCounts> {
  const texts = await Promise.all(metricsPorts.map(scrapeMetrics));
  const storeCalls = new Map<string, number>();
  for (const text of texts) {
    for (const [, method, count] of text.matchAll(/^latchkey_store_call_duration_seconds_count\{method="([^"]+)",[^}]*\} (\S+)$/gm)) {
      storeCalls.set(method!, (storeCalls.get(method!) ?? 0) + Number(count));
    }
  }
  const sum = (metric: string, labels: readonly string[] = []) => texts.reduce((total, text) => total + metricSum(text, metric, labels), 0);
  return {
    storeCalls,
    verifications: sum("latchkey_verifications_total"),
    decisions: sum("latchkey_rpc_duration_seconds_count", ["RatelimitService/Limit"]),
    cpuSeconds: sum("process_cpu_seconds_total"),
    gcSeconds: sum("nodejs_gc_duration_seconds_sum"),
    eventLoopMaxSeconds: Math.max(...texts.map((text) => metricSum(text, "nodejs_eventloop_lag_max_seconds"))),
  };
}

function countsSince(before: InstanceCounts, after: InstanceCounts): InstanceCounts {
  const storeCalls = new Map([...after.storeCalls].map(([method, count]) => [method, count - (before.storeCalls.get(method) ?? 0)]));
  return {
    storeCalls,
    verifications: after.verifications - before.verifications,
    decisions: after.decisions - before.decisions,
    cpuSeconds: after.cpuSeconds - before.cpuSeconds,
    gcSeconds: after.gcSeconds - before.gcSeconds,
    eventLoopMaxSeconds: after.eventLoopMaxSeconds,
  };
}

/** CPU time a process has used, from /proc (the MongoDB server the harness started), or NaN where unknown. */
function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}
/** Linux's USER_HZ, the unit of /proc/<pid>/stat's CPU times, on every architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** An amount (store calls, CPU milliseconds) per 1,000 of the verifications the instances answered over `counts`. */
const perThousandVerifications = (counts: InstanceCounts, amount: number) => (1000 * amount) / Math.max(1, counts.verifications);

const storeCallsOf = (counts: InstanceCounts, picked: (method: string) => boolean = () => true) =>
  [...counts.storeCalls].reduce((total, [method, count]) => total + (picked(method) ? count : 0), 0);

/**
 * Store calls an instance makes on timers whatever the traffic: the change feed's polls and
 * pruning, health checks, pruning of rate-limit windows and kept answers, known-digest rebuilds.
 * Their number per second is fixed, so per 1,000 verifications it shrinks as traffic grows.
 */
const BACKGROUND_METHODS = new Set([
  "changesAfter",
  "lastChangeSeq",
  "pruneChanges",
  "checkHealth",
  "pruneRateLimits",
  "ratelimits.pruneCounters",
  "pruneRequests",
  "countDigests",
  "digests",
]);

/** Indexes into `count` keys drawn with Zipf's law: index 0 most often, then ever less often. */
function zipfSample(count: number, exponent: number, draws: number): number[] {
  const cumulative = new Float64Array(count);
  let total = 0;
  for (let rank = 0; rank < count; rank++) cumulative[rank] = total += 1 / (rank + 1) ** exponent;
  return Array.from({ length: draws }, () => {
    const target = Math.random() * total;
    let low = 0;
    let high = count - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (cumulative[middle]! < target) low = middle + 1;
      else high = middle;
    }
    return low;
  });
}

const TAGS = ["route.search", "plan.pro"];

/**
 * Pairs of runs of the tagged VerifyKey load, alternating between two instances that only differ
 * in analytics (on or off): ANALYTICS_PAIRS pairs of runs as long as the section's others (runs of
 * two fifths of that spread too widely). In every other pair the off run goes first, so neither
 * side always follows the other. The pairs' ratios spread over about ±9% on the shared machine
 * while what counting costs a call is near 1% (docs/analytics.md): with five pairs the median
 * still moved by several percent from run to run, nine pairs narrow it.
 */
const ANALYTICS_PAIRS = 9;

/**
 * The same tagged VerifyKey load on an instance counting analytics and on one that does not, in
 * ANALYTICS_PAIRS short pairs: one on run against one off run could not resolve a few percent on
 * the shared machine (such ratios ranged over ±15% in one day), the median of the pairs' ratios can.
 * Both instances are started for this alike and hold one key each: the on side used to be the
 * instance every earlier figure had run on, with their keys and garbage, against a fresh off side.
 */
async function analyticsOnVsOff() {
  const instance = async (analytics: boolean) => {
    const adminToken = randomBytes(32).toString("hex");
    const port = await freePort();
    await startProcess(["src/bin/serve.ts"], { ...inMemoryServiceEnv(port, adminToken), ANALYTICS_ENABLED: String(analytics) }, serviceNodeFlags());
    const url = `http://127.0.0.1:${port}`;
    const admin = createClient(WorkspaceService, createGrpcTransport({ baseUrl: url, interceptors: [bearer(adminToken)] }));
    const root = (await admin.createWorkspace({ workspace: { name: `bench analytics ${analytics ? "on" : "off"}` } })).rootKeySecret;
    const transport = createGrpcTransport({ baseUrl: url, interceptors: [bearer(root)] });
    const { keyspace } = await createClient(KeyspaceService, transport).createKeyspace({ keyspace: { name: "bench" } });
    const secret = (await createClient(KeyService, transport).createKey({ key: { keyspaceId: keyspace!.id, permissions: ["documents.read"] } })).secret;
    return { url, root, secret };
  };
  const sides = { on: await instance(true), off: await instance(false) };
  const body = (key: string) =>
    grpcFrame(toBinary(VerifyKeyRequestSchema, create(VerifyKeyRequestSchema, { key, permissionQuery: "documents.read", tags: TAGS })));
  const verifyPath = "/latchkey.v1.VerifyService/VerifyKey";
  const seconds = SECONDS;
  const saved = rootKey;
  const run = (analytics: boolean) => {
    const side = analytics ? sides.on : sides.off;
    rootKey = side.root;
    return load(side.url + verifyPath, body(side.secret), "grpc", undefined, seconds);
  };
  const pairs = await alternatingRounds(["on", "off"] as const, ANALYTICS_PAIRS, (side) => run(side === "on"));
  rootKey = saved;
  await stopLastProcess();
  await stopLastProcess();
  const paired = pairedRatio(pairs.map(({ on, off }) => ({ on: on.rps, off: off.rps })));
  return {
    verify_grpc_tagged_analytics_on_rps: Math.round(paired.on),
    verify_grpc_tagged_analytics_off_rps: Math.round(paired.off),
    analytics_on_vs_off: round(paired.ratio),
    analytics_on_vs_off_lowest: round(paired.lowest),
    analytics_on_vs_off_highest: round(paired.highest),
    analytics_on_vs_off_pairs: pairs.length,
    analytics_on_vs_off_seconds_per_run: seconds,
    analytics_failed_requests: pairs.reduce((sum, { on, off }) => sum + on.failed + off.failed, 0),
  };
}

/** The CPU time (user and system) a process has spent, in milliseconds, from Linux's /proc (counted in clock ticks, CLK_TCK a second). */
function processCpuMs(pid: number) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * (1000 / CLOCK_TICKS_PER_S);
}
const CLOCK_TICKS_PER_S = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }));

const QUERY_KEYS = 1000;
const QUERY_DAYS = 30;

/**
 * 30 days of hourly counts for 1,000 keys (each key verified every hour), as the recorder writes
 * them (each key's day and month documents and the keyspace's), written straight into the
 * database; then GetVerifications, through an instance, for the keyspace by day over the 30 days,
 * and grouped by key (every page), with the CPU time the instance and the client spent on the latter.
 */
async function analyticsQueryFigures(uri: string, database: string, url: string, adminToken: string, instancePid: number) {
  const admin = createClient(WorkspaceService, createGrpcTransport({ baseUrl: url, interceptors: [bearer(adminToken)] }));
  const made = await admin.createWorkspace({ workspace: { name: "bench analytics" } });
  const transport = createGrpcTransport({ baseUrl: url, interceptors: [bearer(made.rootKeySecret)] });
  const { keyspace } = await createClient(KeyspaceService, transport).createKeyspace({ keyspace: { name: "analytics" } });
  const workspaceId = made.workspace!.id;
  const keyIds = Array.from({ length: QUERY_KEYS }, (_, i) => newId("key", Date.now() + i));
  const now = Date.now();
  const firstHour = bucketStart("hour", now) - QUERY_DAYS * 86_400_000;
  const store = await MongoStore.connect(uri, database);
  const loadStarted = performance.now();
  const count = (keyId: string, at: number): MinuteCount => ({
    source: "verification",
    workspaceId,
    keyspaceId: keyspace!.id,
    keyId,
    externalId: "",
    tags: [],
    overflow: false,
    minute: at,
    outcomes: { valid: 9, rate_limited: 1 },
    credits: 9,
  });
  let rows = 0;
  let documents = 0;
  for (let day = 0; day <= QUERY_DAYS; day++) {
    const hours = Array.from({ length: 24 }, (_, hour) => firstHour + (day * 24 + hour) * 3_600_000).filter((at) => at <= now);
    const written = documentsOf(
      hours.flatMap((hour) => keyIds.map((keyId) => count(keyId, hour))),
      DEFAULT_RETENTION,
      () => true,
    );
    for (let from = 0; from < written.length; from += 1000) await store.analytics.add(written.slice(from, from + 1000));
    rows += hours.length * QUERY_KEYS;
    documents += written.length;
  }
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  await store.close();

  const analytics = createClient(AnalyticsService, transport);
  const range = { startTime: timestampFromMs(now - QUERY_DAYS * 86_400_000), granularity: Granularity.DAY, keyspaceId: keyspace!.id };
  /** Each run's wall time, and the CPU time the instance and this process (the client) spent in it. */
  const timed = async (query: () => Promise<number>) => {
    const instanceCpu = processCpuMs(instancePid);
    const clientCpu = process.cpuUsage();
    const started = performance.now();
    const buckets = await query();
    const ms = performance.now() - started;
    const client = process.cpuUsage(clientCpu);
    return { ms, buckets, instanceCpuMs: processCpuMs(instancePid) - instanceCpu, clientCpuMs: (client.user + client.system) / 1000 };
  };
  const keyspaceRuns = [];
  for (let i = 0; i < 5; i++) keyspaceRuns.push(await timed(async () => (await analytics.getVerifications(range)).buckets.length));
  const everyPageByKey = async () => {
    let buckets = 0;
    let pageToken = "";
    do {
      const page = await analytics.getVerifications({ ...range, groupBy: [VerificationGrouping.KEY], pageSize: 1000, pageToken });
      buckets += page.buckets.length;
      pageToken = page.nextPageToken;
    } while (pageToken);
    return buckets;
  };
  // The first run by key is the instance's (and the client's) first: its code is not optimized yet.
  // The figure is the steady state of a running service, after it.
  const coldByKey = await timed(everyPageByKey);
  const byKeyRuns = [];
  for (let i = 0; i < 3; i++) byKeyRuns.push(await timed(everyPageByKey));
  return {
    analytics_query_rows_loaded: rows,
    analytics_query_documents_loaded: documents,
    analytics_query_load_s: round(loadSeconds),
    analytics_query_keyspace_30d_ms: round(median(keyspaceRuns.map((run) => run.ms))),
    analytics_query_keyspace_30d_buckets: keyspaceRuns[0]!.buckets,
    analytics_query_by_key_30d_ms: round(median(byKeyRuns.map((run) => run.ms))),
    analytics_query_by_key_30d_cold_ms: round(coldByKey.ms),
    analytics_query_by_key_30d_instance_cpu_ms: round(median(byKeyRuns.map((run) => run.instanceCpuMs))),
    analytics_query_by_key_30d_client_cpu_ms: round(median(byKeyRuns.map((run) => run.clientCpuMs))),
    analytics_query_by_key_30d_buckets: byKeyRuns[0]!.buckets,
  };
}

/**
 * Two instances on one MongoDB (the test harness's: MONGODB_URI, a real mongod, or
 * mongo-java-server), 10,000 keys of each kind, each verified once on each instance just before its kind's runs,
 * every request naming a different key: plain keys,
 * keys with credits (every verification spends one) and keys with a rate limit (high enough never
 * to refuse), at full load and at half of each one's peak. Then a skewed workload: plain keys drawn
 * by Zipf's law from ZIPF_KEYS, none verified beforehand, so its long tail loads keys as real
 * traffic does. For each, the store calls the instances made per 1,000 verifications they answered,
 * from their own /metrics. Verification analytics is off in these runs; tagged runs at the end,
 * alternating between two instances with it on and two with it off, measure what it costs.
 */
async function mongoFigures() {
  const mongo = await startTestMongo((line) => console.error(`[bench mongodb] ${line}`));
  console.error(`[bench mongodb] ${mongo.description}`);
  const instancesBefore = children.length;
  try {
    const adminToken = randomBytes(32).toString("hex");
    const shared = mongoServiceEnv(await freePort(), adminToken, mongo.uri, `latchkey_bench_${randomBytes(4).toString("hex")}`, await freePort());
    const ports = [Number(shared.GRPC_PORT), await freePort()];
    const metricsPorts = [Number(shared.METRICS_PORT), await freePort()];
    // The workspace and keyspace come through the API of a setup instance; the keys through the
    // API would take minutes on mongo-java-server, so they go straight into the database, and the
    // measured instances start afterwards (their known-digest filters are built from it).
    await startProcess(["src/bin/serve.ts"], shared);
    const setupUrl = `http://127.0.0.1:${ports[0]}`;
    const admin = createClient(WorkspaceService, createGrpcTransport({ baseUrl: setupUrl, interceptors: [bearer(adminToken)] }));
    const made = await admin.createWorkspace({ workspace: { name: "bench mongodb" } });
    rootKey = made.rootKeySecret;
    const transport = createGrpcTransport({ baseUrl: setupUrl, interceptors: [bearer(rootKey)] });
    const { keyspace } = await createClient(KeyspaceService, transport).createKeyspace({ keyspace: { name: "bench" } });
    await stopLastProcess();
    const store = await MongoStore.connect(mongo.uri, shared.MONGODB_DATABASE);
    const kinds: Record<string, { settings: Partial<KeyRecord>; keys: number }> = {
      plain: { settings: {}, keys: MONGO_KEYS },
      credits: { settings: { credits: { remaining: 1_000_000_000, refill: null } }, keys: MONGO_KEYS },
      ratelimited: { settings: { rateLimits: [{ name: "api", limit: 1_000_000, durationMs: 60_000, autoApply: true }] }, keys: MONGO_KEYS },
      zipf: { settings: {}, keys: ZIPF_KEYS },
    };
    const bodies: Record<string, Uint8Array[]> = {};
    const secretsByKind: Record<string, string[]> = {};
    const seed = async (kind: string) => {
      const { settings, keys } = kinds[kind]!;
      bodies[kind] = [];
      secretsByKind[kind] = [];
      for (let i = 0; i < keys; i++) {
        const issued = issueSecret("lk", 16, 4);
        await store.insertKey(keyRecord({ ...settings, workspaceId: made.workspace!.id, keyspaceId: keyspace!.id, hash: issued.digest }));
        bodies[kind]!.push(toBinary(VerifyKeyRequestSchema, create(VerifyKeyRequestSchema, { key: issued.secret })));
        secretsByKind[kind]!.push(issued.secret);
      }
    };
    // The Zipf kind's keys go in only before its runs: mongo-java-server scans the whole collection
    // for a cache refresh's read, so they would make every earlier kind's refreshes slower.
    for (const kind of Object.keys(kinds)) if (kind !== "zipf") await seed(kind);
    // Verification analytics is off for every run but the tagged pairs at the end, which measure its cost.
    const instanceEnv = (index: number, analytics: boolean) => ({
      ...shared,
      GRPC_PORT: String(ports[index]),
      METRICS_PORT: String(metricsPorts[index]),
      ANALYTICS_ENABLED: String(analytics),
    });
    const urls: string[] = [];
    const startInstances = async (analytics: boolean) => {
      for (const index of [0, 1]) await startProcess(["src/bin/serve.ts"], instanceEnv(index, analytics), serviceNodeFlags());
      urls.splice(0, urls.length, ...ports.map((port) => `http://127.0.0.1:${port}`));
    };
    /**
     * New keys reach an instance's known-digest filter when it starts. The instances come back on
     * ports of their own: a port given up may meanwhile be the local end of some outgoing connection.
     */
    const restartInstances = async (analytics: boolean) => {
      await stopLastProcess();
      await stopLastProcess();
      for (const index of [0, 1]) {
        ports[index] = await freePort();
        metricsPorts[index] = await freePort();
      }
      await startInstances(analytics);
    };
    await startInstances(false);
    /** Verifies every key once on each instance, with clients of its own, as instances restart. */
    const warm = async (secrets: readonly string[]) => {
      for (const url of urls) {
        const verify = createClient(VerifyService, createGrpcTransport({ baseUrl: url, interceptors: [bearer(rootKey)] }));
        await forEachChunk(secrets, WARM_BATCH, async (chunk) => {
          await verify.verifyKeys({ requests: chunk.map((key) => ({ key })) });
        });
      }
    };
    const figures: Record<string, number> = {
      mongo_seconds_per_run: MONGO_SECONDS,
      zipf_keys: ZIPF_KEYS,
      zipf_exponent: ZIPF_EXPONENT,
    };
    const nameOf = (kind: string) => (kind === "plain" ? "verify_mongo" : `verify_mongo_${kind}`);
    /** Once every kind the rounds compare has had its long runs, and before the Zipf kind restarts the instances. */
    const roundsOnceDue = async () => {
      if (figures.mongo_kind_rounds !== undefined || !ROUND_KINDS.every((kind) => figures[`${nameOf(kind)}_rps`] !== undefined)) return;
      const cpuPer1k: Record<string, number[]> = {};
      const rounds = await alternatingRounds(ROUND_KINDS, MONGO_KIND_ROUNDS, async (kind) => {
        const before = await instanceCounts(metricsPorts);
        const { rps } = generate(urls, bodies[kind]!, { seconds: MONGO_KIND_ROUND_SECONDS });
        const since = countsSince(before, await instanceCounts(metricsPorts));
        (cpuPer1k[kind] ??= []).push(perThousandVerifications(since, 1000 * since.cpuSeconds));
        return rps;
      });
      figures.mongo_kind_rounds = MONGO_KIND_ROUNDS;
      figures.mongo_kind_round_seconds = MONGO_KIND_ROUND_SECONDS;
      // Each kind's median rate in the rounds, to set beside its long run's: a kind whose long run
      // was measured in a different state of the instances shows it here.
      for (const kind of ROUND_KINDS) {
        figures[`mongo_round_${kind}_rps`] = Math.round(median(rounds.map((rps) => rps[kind]!)));
        figures[`mongo_round_${kind}_instances_cpu_ms_per_1k`] = round(median(cpuPer1k[kind]!));
      }
      for (const kind of ROUND_KINDS.slice(1)) {
        Object.assign(figures, pairedFigures(`mongo_${kind}_vs_plain`, pairedRatio(rounds.map((rps) => ({ on: rps[kind]!, off: rps.plain! })))));
      }
    };
    // A database that cannot keep up fails the runs (UNAVAILABLE after STORE_TIMEOUT_MS): the figures
    // measured so far are still printed, with mongo_runs_failed saying so.
    try {
      for (const kind of process.env.BENCH_KINDS?.split(",") ?? Object.keys(kinds)) {
        const zipf = kind === "zipf";
        if (zipf) {
          await roundsOnceDue();
          await seed(kind);
          await restartInstances(false);
        }
        // Every key of a uniform kind is verified once on each instance just before its runs, so they measure
        // a warm cache, credit shares and rate-limit allowances already held: the steady state of keys in use.
        if (!zipf) await warm(secretsByKind[kind]!);
        const frames = zipf ? zipfSample(ZIPF_KEYS, ZIPF_EXPONENT, ZIPF_REQUESTS).map((index) => bodies.zipf![index]!) : bodies[kind]!;
        const name = nameOf(kind);
        const before = await instanceCounts(metricsPorts);
        const storeCpuBefore = processCpuSeconds(mongo.pid);
        const started = performance.now();
        const peak = generate(urls, frames, { seconds: MONGO_SECONDS });
        const half = generate(urls, frames, { rate: Math.max(1, Math.round(peak.rps / 2)), seconds: MONGO_SECONDS });
        const since = countsSince(before, await instanceCounts(metricsPorts));
        const storeCpu = processCpuSeconds(mongo.pid) - storeCpuBefore;
        const seconds = (performance.now() - started) / 1000;
        const perThousand = (amount: number) => round(perThousandVerifications(since, amount));
        const byMethod = [...since.storeCalls].filter(([, count]) => count > 0).sort((a, b) => b[1] - a[1]);
        console.error(
          `[bench mongodb] ${name}: store calls per 1,000 verifications by method: ${byMethod.map(([method, count]) => `${method} ${perThousand(count)}`).join(", ")}`,
        );
        Object.assign(figures, {
          [`${name}_rps`]: Math.round(peak.rps),
          [`${name}_p50_ms`]: round(peak.p50),
          [`${name}_p99_ms`]: round(peak.p99),
          [`${name}_half_peak_p99_ms`]: round(half.p99),
          [`${name}_failed`]: peak.failed + half.failed,
          [`${name}_store_calls_per_1k`]: perThousand(storeCallsOf(since)),
          [`${name}_traffic_store_calls_per_1k`]: perThousand(storeCallsOf(since, (method) => !BACKGROUND_METHODS.has(method))),
          [`${name}_background_store_calls_per_s`]: round(storeCallsOf(since, (method) => BACKGROUND_METHODS.has(method)) / seconds),
          [`${name}_instances_cpu_ms_per_1k`]: perThousand(1000 * since.cpuSeconds),
          [`${name}_store_cpu_ms_per_1k`]: perThousand(1000 * storeCpu),
          [`${name}_generator_cpu_ms_per_1k`]: perThousand(1000 * ((peak.cpuSeconds ?? Number.NaN) + (half.cpuSeconds ?? Number.NaN))),
          [`${name}_instances_gc_ms_per_s`]: round((1000 * since.gcSeconds) / seconds),
          [`${name}_event_loop_max_ms`]: round(1000 * since.eventLoopMaxSeconds),
        });
      }
      await roundsOnceDue();
      if (process.env.BENCH_KINDS) {
        await store.close();
        return figures;
      }
      // Limit on both instances: one hot identifier, then 10,000 identifiers.
      const identifiers = Array.from({ length: MONGO_KEYS }, (_, i) => `203.0.${Math.floor(i / 256)}.${i % 256}`);
      for (const [name, frames] of [
        ["limit_mongo_hot", [limitBody("hot")]],
        ["limit_mongo", identifiers.map(limitBody)],
      ] as const) {
        const [peak, calls] = await withStoreCalls(metricsPorts, () => generate(urls, [...frames], { path: LIMIT_PATH }));
        const half = generate(urls, [...frames], { path: LIMIT_PATH, rate: Math.max(1, Math.round(peak.rps / 2)) });
        Object.assign(figures, {
          [`${name}_rps`]: Math.round(peak.rps),
          [`${name}_p50_ms`]: round(peak.p50),
          [`${name}_p99_ms`]: round(peak.p99),
          [`${name}_half_peak_p99_ms`]: round(half.p99),
          [`${name}_store_calls_per_1000`]: calls,
          [`${name}_failed`]: peak.failed + half.failed,
        });
      }
      figures.mongo_limit_vs_verify_half_peak_p99 = round(figures.limit_mongo_half_peak_p99_ms! / figures.verify_mongo_half_peak_p99_ms!);
      figures.mongo_credits_vs_plain = round(figures.verify_mongo_credits_rps! / figures.verify_mongo_rps!);
      figures.mongo_ratelimited_vs_plain = round(figures.verify_mongo_ratelimited_rps! / figures.verify_mongo_rps!);
      figures.mongo_zipf_vs_plain = round(figures.verify_mongo_zipf_rps! / figures.verify_mongo_rps!);

      // Plain keys again, tagged, alternately on two instances with analytics on and two with it
      // off, all four up at once on the same database, in MONGO_ANALYTICS_PAIRS pairs of runs.
      const tagged = secretsByKind.plain!.map((key) => toBinary(VerifyKeyRequestSchema, create(VerifyKeyRequestSchema, { key, tags: TAGS })));
      await stopLastProcess();
      await stopLastProcess();
      for (let index = 0; index < 4; index++) {
        ports[index] = await freePort();
        metricsPorts[index] = await freePort();
        await startProcess(["src/bin/serve.ts"], instanceEnv(index, index < 2));
      }
      const urlsOf = (indexes: readonly number[]) => indexes.map((index) => `http://127.0.0.1:${ports[index]}`);
      const onUrls = urlsOf([0, 1]);
      const offUrls = urlsOf([2, 3]);
      const onMetricsPorts = metricsPorts.slice(0, 2);
      urls.splice(0, urls.length, ...onUrls, ...offUrls);
      await warm(secretsByKind.plain!);
      const analyticsCounts = async () => {
        const texts = await Promise.all(onMetricsPorts.map(scrapeMetrics));
        const sum = (metric: string) => texts.reduce((total, text) => total + metricSum(text, metric), 0);
        return { rows: sum("latchkey_analytics_rows_written_total"), failures: sum("latchkey_analytics_flush_failures_total") };
      };
      /**
       * Waits until the analytics instances have written what they counted: their written count
       * stands still for a flush interval and a chunk's write, so that no run measures the
       * database still applying the documents of the run before it.
       */
      const settled = async () => {
        const deadline = performance.now() + ANALYTICS_SETTLE_DEADLINE_MS;
        let last = await analyticsCounts();
        while (performance.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, ANALYTICS_FLUSH_MS + 1000));
          const now = await analyticsCounts();
          if (now.rows === last.rows) return now;
          last = now;
        }
        throw new Error("the analytics instances were still writing past the settle deadline");
      };
      const seconds = Math.max(2, Math.round(MONGO_SECONDS / MONGO_ANALYTICS_PAIRS));
      const first = await settled();
      let onSeconds = 0;
      let failed = 0;
      const onRun = async () => {
        const started = performance.now();
        const result = generate(onUrls, tagged, { seconds });
        await settled();
        onSeconds += (performance.now() - started) / 1000;
        failed += result.failed;
        return result.rps;
      };
      const offRun = () => {
        const result = generate(offUrls, tagged, { seconds });
        failed += result.failed;
        return result.rps;
      };
      const pairs: OnOffPair[] = await alternatingRounds(["on", "off"] as const, MONGO_ANALYTICS_PAIRS, (side) => (side === "on" ? onRun() : offRun()));
      const last = await analyticsCounts();
      const paired = pairedRatio(pairs);
      Object.assign(figures, {
        verify_mongo_tagged_analytics_on_rps: Math.round(paired.on),
        verify_mongo_tagged_analytics_off_rps: Math.round(paired.off),
        mongo_analytics_on_vs_off: round(paired.ratio),
        mongo_analytics_on_vs_off_lowest: round(paired.lowest),
        mongo_analytics_on_vs_off_highest: round(paired.highest),
        mongo_analytics_on_vs_off_pairs: pairs.length,
        mongo_analytics_on_vs_off_seconds_per_run: seconds,
        mongo_analytics_store_writes_per_s: Math.round((last.rows - first.rows) / onSeconds),
        // How long, after each on run, the instances went on writing what it counted (one flush
        // interval and a second of it only confirm that the count stood still): past a flush
        // interval, the database could not keep up, and the on runs did not pay for all of it.
        mongo_analytics_writing_after_run_s: round(onSeconds / pairs.length - seconds - (ANALYTICS_FLUSH_MS + 1000) / 1000),
        mongo_analytics_write_failures: last.failures - first.failures,
        mongo_analytics_failed: failed,
      });
    } catch (error) {
      console.error(`[bench mongodb] the verification runs failed: ${String(error)}`);
      figures.mongo_runs_failed = 1;
    }
    await store.close();
    return figures;
  } finally {
    // The instances give back what they hold while their database still answers.
    while (children.length > instancesBefore) await stopLastProcess();
    await mongo.stop();
  }
}

/**
 * The GetVerifications figures, after the verification runs, on a MongoDB of their own with one
 * instance: the verification runs then measure a database that holds their keys and nothing else.
 * BENCH_ONLY=analytics-query runs them alone, without h2load or the verification runs.
 */
async function analyticsQueryOnOwnDatabase() {
  const mongo = await startTestMongo((line) => console.error(`[bench mongodb] ${line}`));
  console.error(`[bench mongodb] ${mongo.description}`);
  try {
    const adminToken = randomBytes(32).toString("hex");
    const database = `latchkey_bench_${randomBytes(4).toString("hex")}`;
    const grpcPort = await freePort();
    await startProcess(["src/bin/serve.ts"], mongoServiceEnv(grpcPort, adminToken, mongo.uri, database, await freePort()), serviceNodeFlags());
    const figures = await analyticsQueryFigures(mongo.uri, database, `http://127.0.0.1:${grpcPort}`, adminToken, children.at(-1)!.pid!);
    await stopLastProcess();
    return figures;
  } finally {
    await mongo.stop();
  }
}

/**
 * Callers, each waiting for its answer, in the runs near half of peak: h2load's --rps sends in
 * bursts, which measures its own queueing, so the rate comes from the number of callers instead,
 * and the run closest to half of peak is reported.
 */
const HALF_PEAK_CALLERS = [1, 2, 3, 4, 6];

/** Runs of one body with each number of HALF_PEAK_CALLERS, by callers. */
const runsByCallers = (url: string, body: Uint8Array) =>
  new Map(HALF_PEAK_CALLERS.map((clients) => [clients, load(url, body, "grpc", { clients, streams: 1 })]));

/** The run (and its callers) whose rate is closest to `rps`. */
function closestTo(runs: Map<number, LoadResult>, rps: number): [number, LoadResult] {
  return [...runs].reduce((best, run) => (Math.abs(run[1].rps - rps) < Math.abs(best[1].rps - rps) ? run : best));
}

async function main() {
  if (process.env.BENCH_ONLY === "analytics-query") {
    console.log(JSON.stringify(await analyticsQueryOnOwnDatabase()));
    return;
  }
  ensureH2load();
  if (process.env.BENCH_ONLY === "mongodb") {
    console.log(JSON.stringify(await mongoFigures()));
    return;
  }
  const verifyInProcess = await inProcessVerificationsPerSecond();

  const nativePort = await freePort();
  const adminToken = randomBytes(32).toString("hex");
  const port = await startProcess(
    ["src/bin/serve.ts"],
    { ...inMemoryServiceEnv(nativePort, adminToken), METRICS_PORT: String(await freePort()) },
    serviceNodeFlags(),
  );
  const grpcjsPort = await startProcess(["test/bench/grpcjs-empty-server.ts"]);
  const router = `http://127.0.0.1:${port}`;
  const native = `http://127.0.0.1:${nativePort}`;
  const admin = createClient(WorkspaceService, createGrpcTransport({ baseUrl: native, interceptors: [bearer(adminToken)] }));
  rootKey = (await admin.createWorkspace({ workspace: { name: "bench" } })).rootKeySecret;
  const transport = createGrpcTransport({ baseUrl: native, interceptors: [bearer(rootKey)] });
  const { keyspace } = await createClient(KeyspaceService, transport).createKeyspace({ keyspace: { name: "bench" } });
  const keys = createClient(KeyService, transport);
  const secrets: string[] = [];
  for (let i = 0; i < 100; i++) {
    secrets.push((await keys.createKey({ key: { keyspaceId: keyspace!.id, permissions: ["documents.read"] } })).secret);
  }
  const check = await createClient(VerifyService, transport).verifyKey({ key: secrets[0]!, permissionQuery: "documents.read" });
  if (check.code !== VerifyCode.VALID) throw new Error("the benchmark key does not verify");

  const verifyBody = toBinary(VerifyKeyRequestSchema, create(VerifyKeyRequestSchema, { key: secrets[0]!, permissionQuery: "documents.read" }));
  const emptyBody = toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema));
  const batchBody = toBinary(VerifyKeysRequestSchema, create(VerifyKeysRequestSchema, { requests: secrets.map((key) => ({ key })) }));

  const verifyPath = VERIFY_PATH;
  const emptyPath = "/grpc.health.v1.Health/Check";
  const nativeRuns = {
    grpcjs: () => load(`http://127.0.0.1:${grpcjsPort}${emptyPath}`, grpcFrame(emptyBody), "grpc"),
    empty: () => load(native + emptyPath, grpcFrame(emptyBody), "grpc"),
    verify: () => load(native + verifyPath, grpcFrame(verifyBody), "grpc"),
  };
  const empty = nativeRuns.empty();
  const grpcjsEmpty = nativeRuns.grpcjs();
  const verify = nativeRuns.verify();
  const nativeRounds = await alternatingRounds(["grpcjs", "empty", "verify"] as const, NATIVE_ROUNDS, (kind) => nativeRuns[kind]().rps);
  const againstGrpcjs = (kind: "empty" | "verify") => pairedRatio(nativeRounds.map((rps) => ({ on: rps[kind], off: rps.grpcjs })));
  const verifyByCallers = runsByCallers(native + verifyPath, grpcFrame(verifyBody));
  const [verifyHalfPeakCallers, halfPeak] = closestTo(verifyByCallers, verify.rps / 2);
  // Half of the peak our generator reaches, as in the MongoDB section: it takes some of the two cores
  // h2load leaves to the service, so half of h2load's peak is near all of what the service answers beside it.
  const generatorPeak = generate([native], [verifyBody]);
  const openLoopHalfPeak = generate([native], [verifyBody], { rate: Math.max(1, Math.round(generatorPeak.rps / 2)), seconds: MONGO_SECONDS });
  const batch = load(`${native}/latchkey.v1.VerifyService/VerifyKeys`, grpcFrame(batchBody), "grpc");
  const analyticsFigures = await analyticsOnVsOff();
  const hotLimit = grpcFrame(limitBody("hot"));
  const [limit, limitStoreCalls] = await withStoreCalls([metricsPorts.get(port)!], () => load(native + LIMIT_PATH, hotLimit, "grpc"));
  const limitByCallers = runsByCallers(native + LIMIT_PATH, hotLimit);
  const [limitHalfPeakCallers, limitHalfPeak] = closestTo(limitByCallers, limit.rps / 2);
  const limitAtVerifyCallers = limitByCallers.get(verifyHalfPeakCallers)!;
  const connect = load(router + verifyPath, verifyBody, "connect");
  const routerGrpc = load(router + verifyPath, grpcFrame(verifyBody), "grpc");
  const routerEmpty = load(router + emptyPath, grpcFrame(emptyBody), "grpc");

  const figures: Record<string, number> = {
    verify_in_process_per_s: verifyInProcess,
    verify_grpc_rps: Math.round(verify.rps),
    verify_grpc_p50_ms: round(verify.p50),
    verify_grpc_p99_ms: round(verify.p99),
    verify_grpc_half_peak_rps: Math.round(halfPeak.rps),
    verify_grpc_half_peak_p50_ms: round(halfPeak.p50),
    verify_grpc_half_peak_p99_ms: round(halfPeak.p99),
    verify_grpc_generator_peak_rps: Math.round(generatorPeak.rps),
    verify_grpc_half_peak_open_loop_rps: Math.round(openLoopHalfPeak.rps),
    verify_grpc_half_peak_open_loop_p50_ms: round(openLoopHalfPeak.p50),
    verify_grpc_half_peak_open_loop_p99_ms: round(openLoopHalfPeak.p99),
    empty_grpc_rps: Math.round(empty.rps),
    grpcjs_empty_rps: Math.round(grpcjsEmpty.rps),
    verify_batch_keys_per_s: Math.round(batch.rps * 100),
    ...analyticsFigures,
    limit_grpc_rps: Math.round(limit.rps),
    limit_grpc_p50_ms: round(limit.p50),
    limit_grpc_p99_ms: round(limit.p99),
    limit_grpc_half_peak_rps: Math.round(limitHalfPeak.rps),
    limit_grpc_half_peak_p99_ms: round(limitHalfPeak.p99),
    limit_grpc_store_calls_per_1000: limitStoreCalls,
    limit_vs_verify_half_peak_p99: round(limitHalfPeak.p99 / halfPeak.p99),
    verify_grpc_half_peak_callers: verifyHalfPeakCallers,
    limit_grpc_half_peak_callers: limitHalfPeakCallers,
    limit_vs_verify_same_callers_p99: round(limitAtVerifyCallers.p99 / halfPeak.p99),
    verify_connect_rps: Math.round(connect.rps),
    verify_connect_router_grpc_rps: Math.round(routerGrpc.rps),
    empty_connect_router_grpc_rps: Math.round(routerEmpty.rps),
    verify_vs_empty: round(verify.rps / empty.rps),
    verify_vs_grpcjs_empty: round(verify.rps / grpcjsEmpty.rps),
    ...pairedFigures("verify_vs_grpcjs_empty", againstGrpcjs("verify")),
    ...pairedFigures("empty_vs_grpcjs_empty", againstGrpcjs("empty")),
    native_rounds: NATIVE_ROUNDS,
    batch_vs_unary_keys: round((batch.rps * 100) / verify.rps),
    concurrency: CLIENTS * STREAMS,
    seconds_per_run: SECONDS,
    failed_requests: [
      empty,
      grpcjsEmpty,
      verify,
      halfPeak,
      generatorPeak,
      openLoopHalfPeak,
      connect,
      batch,
      routerGrpc,
      routerEmpty,
      limit,
      limitHalfPeak,
    ].reduce((sum, result) => sum + result.failed, 0),
  };

  const rows: [string, string][] = [
    ["VerifyKey in process (cache hit, no transport)", `${figures.verify_in_process_per_s} /s`],
    [
      `VerifyKey, native gRPC port, ${figures.concurrency} in flight`,
      `${figures.verify_grpc_rps} req/s  p50 ${figures.verify_grpc_p50_ms} ms  p99 ${figures.verify_grpc_p99_ms} ms`,
    ],
    [
      "VerifyKey, native gRPC port, near half of peak",
      `${figures.verify_grpc_half_peak_rps} req/s  p50 ${figures.verify_grpc_half_peak_p50_ms} ms  p99 ${figures.verify_grpc_half_peak_p99_ms} ms`,
    ],
    [
      "VerifyKey, native gRPC port, half of our generator's peak, open loop",
      `(peak ${figures.verify_grpc_generator_peak_rps} req/s) ${figures.verify_grpc_half_peak_open_loop_rps} req/s  p50 ${figures.verify_grpc_half_peak_open_loop_p50_ms} ms  p99 ${figures.verify_grpc_half_peak_open_loop_p99_ms} ms`,
    ],
    ["empty RPC (Health/Check), native gRPC port", `${figures.empty_grpc_rps} req/s`],
    ["empty RPC, plain @grpc/grpc-js server", `${figures.grpcjs_empty_rps} req/s`],
    ["VerifyKeys, 100 keys per call, native gRPC port", `${figures.verify_batch_keys_per_s} keys/s`],
    [
      "VerifyKey with 2 tags, analytics on / off",
      `${figures.analytics_on_vs_off}, median of ${figures.analytics_on_vs_off_pairs} pairs (${figures.analytics_on_vs_off_lowest} to ${figures.analytics_on_vs_off_highest}; ${figures.verify_grpc_tagged_analytics_on_rps} / ${figures.verify_grpc_tagged_analytics_off_rps} req/s)`,
    ],
    [
      `Limit, one identifier, in memory, native gRPC port`,
      `${figures.limit_grpc_rps} req/s  p99 ${figures.limit_grpc_p99_ms} ms  (half of peak: p99 ${figures.limit_grpc_half_peak_p99_ms} ms with ${figures.limit_grpc_half_peak_callers} callers, ${figures.limit_vs_verify_half_peak_p99}x VerifyKey's with ${figures.verify_grpc_half_peak_callers}; ${figures.limit_vs_verify_same_callers_p99}x with the same callers)  store calls per 1000: ${figures.limit_grpc_store_calls_per_1000}`,
    ],
    ["VerifyKey, Connect protocol (binary), Connect router", `${figures.verify_connect_rps} req/s`],
    ["VerifyKey, gRPC, Connect router", `${figures.verify_connect_router_grpc_rps} req/s`],
    ["empty RPC, gRPC, Connect router", `${figures.empty_connect_router_grpc_rps} req/s`],
    ["VerifyKey / empty RPC", `${figures.verify_vs_empty}`],
    ["VerifyKey / grpc-js empty RPC", `${figures.verify_vs_grpcjs_empty}`],
    [
      `VerifyKey / grpc-js empty RPC, ${NATIVE_ROUNDS} rounds`,
      `${figures.verify_vs_grpcjs_empty_paired} (${figures.verify_vs_grpcjs_empty_paired_lowest} to ${figures.verify_vs_grpcjs_empty_paired_highest}); our empty RPC ${figures.empty_vs_grpcjs_empty_paired} (${figures.empty_vs_grpcjs_empty_paired_lowest} to ${figures.empty_vs_grpcjs_empty_paired_highest})`,
    ],
    ["batch keys/s / unary keys/s", `${figures.batch_vs_unary_keys}`],
  ];
  const mongo: Record<string, number> = process.env.BENCH_MONGODB === "0" ? {} : { ...(await mongoFigures()), ...(await analyticsQueryOnOwnDatabase()) };
  Object.assign(figures, mongo);
  if ("verify_mongo_rps" in mongo) {
    for (const kind of ["", "_credits", "_ratelimited", "_zipf"]) {
      const name = `verify_mongo${kind}`;
      const keys = kind === "_zipf" ? `${ZIPF_KEYS} keys drawn by Zipf's law` : `${MONGO_KEYS} keys${kind ? ` with ${kind.slice(1)}` : ""}`;
      rows.push([
        `VerifyKey, MongoDB, 2 instances, ${keys}`,
        `${mongo[`${name}_rps`]} req/s  p50 ${mongo[`${name}_p50_ms`]} ms  p99 ${mongo[`${name}_p99_ms`]} ms  (half of peak: p99 ${mongo[`${name}_half_peak_p99_ms`]} ms)  ${mongo[`${name}_store_calls_per_1k`]} store calls per 1,000 (${mongo[`${name}_traffic_store_calls_per_1k`]} from traffic, the rest on timers: ${mongo[`${name}_background_store_calls_per_s`]}/s); CPU ms per 1,000: instances ${mongo[`${name}_instances_cpu_ms_per_1k`]}, store ${mongo[`${name}_store_cpu_ms_per_1k`]}, load generator ${mongo[`${name}_generator_cpu_ms_per_1k`]}; instances' GC ${mongo[`${name}_instances_gc_ms_per_s`]} ms/s, longest event-loop delay ${mongo[`${name}_event_loop_max_ms`]} ms`,
      ]);
    }
    rows.push([
      "MongoDB: credits / plain, rate-limited / plain, Zipf / plain",
      `${mongo.mongo_credits_vs_plain}, ${mongo.mongo_ratelimited_vs_plain}, ${mongo.mongo_zipf_vs_plain}`,
    ]);
    rows.push([
      `MongoDB, ${mongo.mongo_kind_rounds} rounds of ${mongo.mongo_kind_round_seconds} s runs in turn: credits / plain, rate-limited / plain (median of the rounds; lowest to highest)`,
      `${mongo.mongo_credits_vs_plain_paired} (${mongo.mongo_credits_vs_plain_paired_lowest} to ${mongo.mongo_credits_vs_plain_paired_highest}), ${mongo.mongo_ratelimited_vs_plain_paired} (${mongo.mongo_ratelimited_vs_plain_paired_lowest} to ${mongo.mongo_ratelimited_vs_plain_paired_highest}); req/s plain ${mongo.mongo_round_plain_rps}, credits ${mongo.mongo_round_credits_rps}, rate-limited ${mongo.mongo_round_ratelimited_rps}; instances' CPU ms per 1,000 ${mongo.mongo_round_plain_instances_cpu_ms_per_1k}, ${mongo.mongo_round_credits_instances_cpu_ms_per_1k}, ${mongo.mongo_round_ratelimited_instances_cpu_ms_per_1k}`,
    ]);
    for (const [name, what] of [
      ["limit_mongo_hot", "one identifier"],
      ["limit_mongo", `${MONGO_KEYS} identifiers`],
    ]) {
      rows.push([
        `Limit, MongoDB, 2 instances, ${what}`,
        `${mongo[`${name}_rps`]} req/s  p99 ${mongo[`${name}_p99_ms`]} ms  (half of peak: p99 ${mongo[`${name}_half_peak_p99_ms`]} ms)  store calls per 1000: ${mongo[`${name}_store_calls_per_1000`]}`,
      ]);
    }
    rows.push([
      "MongoDB: tagged VerifyKey, analytics on / off",
      `${mongo.mongo_analytics_on_vs_off}, median of ${mongo.mongo_analytics_on_vs_off_pairs} pairs (${mongo.mongo_analytics_on_vs_off_lowest} to ${mongo.mongo_analytics_on_vs_off_highest}; ${mongo.verify_mongo_tagged_analytics_on_rps} / ${mongo.verify_mongo_tagged_analytics_off_rps} req/s), ${mongo.mongo_analytics_store_writes_per_s} analytics documents written/s, ${mongo.mongo_analytics_write_failures} writes failed`,
    ]);
    rows.push([
      `GetVerifications, 30 days of hourly rows for ${QUERY_KEYS} keys`,
      `keyspace by day ${mongo.analytics_query_keyspace_30d_ms} ms, by key by day (every page) ${mongo.analytics_query_by_key_30d_ms} ms (first run ${mongo.analytics_query_by_key_30d_cold_ms} ms; CPU: instance ${mongo.analytics_query_by_key_30d_instance_cpu_ms} ms, client ${mongo.analytics_query_by_key_30d_client_cpu_ms} ms)`,
    ]);
    figures.mongo_half_peak_p99_vs_memory = round(mongo.verify_mongo_half_peak_p99_ms! / figures.verify_grpc_half_peak_p99_ms!);
    figures.mongo_half_peak_p99_vs_memory_open_loop = round(mongo.verify_mongo_half_peak_p99_ms! / figures.verify_grpc_half_peak_open_loop_p99_ms!);
    rows.push([
      "MongoDB half-of-peak p99 / in-memory native half-of-peak p99: callers waiting in memory, open loop in both",
      `${figures.mongo_half_peak_p99_vs_memory}, ${figures.mongo_half_peak_p99_vs_memory_open_loop}`,
    ]);
  }
  const width = Math.max(...rows.map(([name]) => name.length));
  console.log(
    `\nlatchkey verification benchmark (${SECONDS} s per in-memory run and ${MONGO_SECONDS} s per MongoDB run, each after 1 s warm-up, loopback, h2load ${CLIENTS} connections x ${STREAMS} streams)`,
  );
  for (const [name, value] of rows) console.log(`${name.padEnd(width)}  ${value}`);
  console.log(JSON.stringify(figures));
}

try {
  await main();
} finally {
  for (const child of children) {
    child.stdin?.end();
    child.kill("SIGTERM");
  }
  rmSync(work, { recursive: true, force: true });
}
