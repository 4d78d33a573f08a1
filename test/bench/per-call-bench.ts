/**
 * `npm run bench:per-call`: what one call costs the serving process on the native gRPC port,
 * counted rather than timed where it can be, so that it holds on a busy machine.
 *
 * First, latchkey's own part of a call, in this process: the handler the grpc-js adapter gives
 * grpc-js, called as grpc-js calls it (request bytes decoded, a stand-in call carrying the same
 * headers as h2load's, the response serialized), PER_CALL_IN_PROCESS calls (100,000 unless set)
 * per round; the CPU time this process used (process.cpuUsage) over them, lowest of the rounds.
 * This leaves out HTTP/2 and grpc-js, which cost the same for every RPC.
 *
 * Then the whole call: the service runs as `npm run bench` starts it (in memory, ACCESS_LOG=false)
 * under `--trace-gc`, beside the plain @grpc/grpc-js server and a second service with
 * ANALYTICS_ENABLED=false (for what counting a tagged verification costs). VerifyKey is measured
 * for a plain key (untagged and tagged), a key with credits and one with a rate limit.
 * For each RPC h2load sends PER_CALL_WARMUP calls (10,000 unless set), then PER_CALL_CALLS (40,000)
 * with 8 connections of 16 streams (PER_CALL_SHAPE, `8x16` unless set); the serving process's CPU time over those calls comes from
 * /proc/<pid>/stat and the heap it allocated from its collections (each one's heap size before, minus
 * the size after the one before it). Each RPC is measured PER_CALL_ROUNDS times (3), in turn, and the
 * lowest CPU figure kept, since other load on the machine only adds to it. One JSON line per RPC.
 * PER_CALL_CPU_PROFILE_DIR, when set, makes both processes write a V8 CPU profile there, sampled every 100 µs (profiling
 * adds to the CPU figures), and PER_CALL_ONLY (comma-separated RPC names) measures only those RPCs.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { HealthCheckRequestSchema } from "../../gen/health/v1/health_pb.js";
import { KeyService } from "../../gen/latchkey/v1/key_pb.js";
import { KeyspaceService } from "../../gen/latchkey/v1/keyspace_pb.js";
import { VerifyKeyRequestSchema } from "../../gen/latchkey/v1/verify_pb.js";
import { WorkspaceService } from "../../gen/latchkey/v1/workspace_pb.js";
import { bearer } from "../support/auth.js";
import { freePort } from "../support/free-port.js";
import { ensureH2load, inMemoryServiceEnv, perCallKeys } from "./bench-support.js";
import { inProcessService } from "./in-process-calls.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const CALLS = Number(process.env.PER_CALL_CALLS ?? 40_000);
const WARMUP = Number(process.env.PER_CALL_WARMUP ?? 10_000);
const ROUNDS = Number(process.env.PER_CALL_ROUNDS ?? 3);
const IN_PROCESS_CALLS = Number(process.env.PER_CALL_IN_PROCESS ?? 100_000);
const PROFILE_DIR = process.env.PER_CALL_CPU_PROFILE_DIR;
/** h2load's connections and streams per connection: calls in flight, and how many arrive together. */
const [CONNECTIONS, STREAMS] = (process.env.PER_CALL_SHAPE ?? "8x16").split("x");
/** One collection of --trace-gc: the heap before it and after it, in MB. */
const COLLECTION = /: (?:Scavenge|Mark-Compact|Mark-sweep|Minor Mark-Sweep)\s+([\d.]+) \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB/;
const CLOCK_TICKS_PER_S = Number((await promisify(execFile)("getconf", ["CLK_TCK"], { encoding: "utf8" })).stdout.trim());
const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), "latchkey-per-call-"));
/** How to stop each started process so that it still writes its CPU profile. */
const stops: (() => void)[] = [];

/** A process under --trace-gc whose allocations are summed while `counting` is set. */
interface Traced {
  pid: number;
  port: number;
  counting: boolean;
  allocatedMb: number;
}

async function startTraced(args: string[], env: Record<string, string>, stop: (child: ChildProcess) => void): Promise<Traced> {
  const flags = ["--trace-gc", ...(PROFILE_DIR ? ["--cpu-prof", "--cpu-prof-interval=100", `--cpu-prof-dir=${PROFILE_DIR}`] : [])];
  const child = spawn(process.execPath, [...flags, "--import", "tsx", ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "inherit"],
  });
  stops.push(() => stop(child));
  const traced: Traced = { pid: child.pid!, port: 0, counting: false, allocatedMb: 0 };
  let lastAfter: number | undefined;
  await new Promise<void>((listening, failed) => {
    child.once("exit", (code) => failed(new Error(`${args.join(" ")} exited with ${code}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const plain = /^PORT (\d+)$/.exec(line);
      if (plain) {
        traced.port = Number(plain[1]);
        listening();
      }
      if (line.includes('"listening"')) listening();
      const collection = COLLECTION.exec(line);
      if (!collection) return;
      if (traced.counting && lastAfter !== undefined) traced.allocatedMb += Number(collection[1]) - lastAfter;
      lastAfter = Number(collection[2]);
    });
  });
  return traced;
}

const cpuTicks = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  // utime and stime are the 14th and 15th fields of the whole line, the 12th and 13th after the command.
  return Number(fields[11]) + Number(fields[12]);
};

const frameFile = (name: string, message: Uint8Array) => {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  const file = join(work, `${name}.bin`);
  writeFileSync(file, frame);
  return file;
};

async function h2load(url: string, bodyFile: string, rootKey: string, count: number) {
  const args = ["-c", CONNECTIONS!, "-m", STREAMS!, "-t", "1", "-n", String(count), "-d", bodyFile];
  const headers = ["content-type: application/grpc", "te: trailers", `authorization: Bearer ${rootKey}`];
  const { stdout } = await run("h2load", [...args, ...headers.flatMap((header) => ["-H", header]), url], { encoding: "utf8" });
  const failed = Number(/(\d+) failed/.exec(stdout)?.[1] ?? 0) + Number(/(\d+) errored/.exec(stdout)?.[1] ?? 0);
  if (failed > 0) throw new Error(`${failed} calls to ${url} failed`);
}

/** The serving process's CPU µs and allocated KB per call over CALLS calls. */
async function perCall(target: Traced, url: string, bodyFile: string, rootKey: string) {
  await h2load(url, bodyFile, rootKey, WARMUP);
  target.allocatedMb = 0;
  target.counting = true;
  const before = cpuTicks(target.pid);
  await h2load(url, bodyFile, rootKey, CALLS);
  const ticks = cpuTicks(target.pid) - before;
  // The scavenge lines of the last calls may still be on their way; --trace-gc prints them as they happen.
  await new Promise((resolve) => setTimeout(resolve, 200));
  target.counting = false;
  return { cpuUsPerCall: (ticks / CLOCK_TICKS_PER_S / CALLS) * 1e6, heapKbPerCall: (target.allocatedMb * 1024) / CALLS };
}

const EMPTY_PATH = "/grpc.health.v1.Health/Check";
const VERIFY_PATH = "/latchkey.v1.VerifyService/VerifyKey";
const TAGS = ["route.search", "plan.pro"];
const emptyBody = toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema));
/** The body `npm run bench` sends for its VerifyKey figures, and (tagged) the one of its analytics pair. */
const verifyBody = (key: string, tags: string[] = []) =>
  toBinary(VerifyKeyRequestSchema, create(VerifyKeyRequestSchema, { key, permissionQuery: "documents.read", tags }));
const only = process.env.PER_CALL_ONLY?.split(",");
const chosen = <T extends { rpc: string }>(rpcs: T[]) => (only ? rpcs.filter(({ rpc }) => only.includes(rpc)) : rpcs);
const tenths = (value: number) => Math.round(value * 10) / 10;

/** This process's CPU µs per call of latchkey's own part of each RPC, lowest of the rounds. */
async function inProcessFigures() {
  const service = await inProcessService();
  try {
    const rpcs = chosen([
      { rpc: "in_process_empty", path: EMPTY_PATH, body: emptyBody },
      { rpc: "in_process_verify", path: VERIFY_PATH, body: verifyBody(service.secret) },
      { rpc: "in_process_verify_tagged", path: VERIFY_PATH, body: verifyBody(service.secret, TAGS) },
      { rpc: "in_process_verify_credits", path: VERIFY_PATH, body: verifyBody(service.creditsSecret) },
      { rpc: "in_process_verify_ratelimited", path: VERIFY_PATH, body: verifyBody(service.rateLimitedSecret) },
    ]);
    const best = new Map<string, number>();
    for (const { path, body } of rpcs) await service.call(path, body, IN_PROCESS_CALLS);
    for (let round = 0; round < ROUNDS; round++) {
      for (const { rpc, path, body } of rpcs) {
        const before = process.cpuUsage();
        await service.call(path, body, IN_PROCESS_CALLS);
        const used = process.cpuUsage(before);
        best.set(rpc, Math.min(best.get(rpc) ?? Number.POSITIVE_INFINITY, (used.user + used.system) / IN_PROCESS_CALLS));
      }
    }
    for (const { rpc } of rpcs) console.log(JSON.stringify({ rpc, calls: IN_PROCESS_CALLS, cpu_us_per_call: tenths(best.get(rpc)!) }));
  } finally {
    await service.stop();
  }
}

/** `serve.ts` in memory under --trace-gc, as `npm run bench` starts it but for `env`, with a root key and the keys the calls verify (perCallKeys). */
async function servedInMemory(env: Record<string, string>) {
  const adminToken = randomBytes(32).toString("hex");
  const grpcPort = await freePort();
  const traced = await startTraced(["src/bin/serve.ts"], { ...inMemoryServiceEnv(grpcPort, adminToken), ...env }, (child) => child.kill("SIGTERM"));
  const url = `http://127.0.0.1:${grpcPort}`;
  const made = await createClient(WorkspaceService, createGrpcTransport({ baseUrl: url, interceptors: [bearer(adminToken)] })).createWorkspace({
    workspace: { name: "per call" },
  });
  const rootKey = made.rootKeySecret;
  const transport = createGrpcTransport({ baseUrl: url, interceptors: [bearer(rootKey)] });
  const { keyspace } = await createClient(KeyspaceService, transport).createKeyspace({ keyspace: { name: "per call" } });
  const secrets = await perCallKeys(createClient(KeyService, transport), keyspace!.id);
  return {
    traced,
    url,
    rootKey,
    ...secrets,
    /** A VerifyKey call to this service with the request in `body`. */
    verifying: (body: string) => ({ target: traced, url: `${url}${VERIFY_PATH}`, body, rootKey }),
  };
}

try {
  await inProcessFigures();
  ensureH2load();
  const service = await servedInMemory({});
  // The same service counting no analytics, for the tagged call's cost of analytics alone.
  const withoutAnalytics = await servedInMemory({ ANALYTICS_ENABLED: "false" });
  const grpcjs = await startTraced(["test/bench/grpcjs-empty-server.ts"], {}, (child) => child.stdin!.end());
  const empty = frameFile("empty", emptyBody);
  const tagged = frameFile("tagged", verifyBody(service.secret, TAGS));
  const measured = chosen([
    { rpc: "grpcjs_empty", target: grpcjs, url: `http://127.0.0.1:${grpcjs.port}${EMPTY_PATH}`, body: empty, rootKey: service.rootKey },
    { rpc: "native_empty", target: service.traced, url: `${service.url}${EMPTY_PATH}`, body: empty, rootKey: service.rootKey },
    { rpc: "native_verify", ...service.verifying(frameFile("verify", verifyBody(service.secret))) },
    { rpc: "native_verify_tagged", ...service.verifying(tagged) },
    { rpc: "native_verify_tagged_analytics_off", ...withoutAnalytics.verifying(frameFile("tagged_off", verifyBody(withoutAnalytics.secret, TAGS))) },
    { rpc: "native_verify_credits", ...service.verifying(frameFile("credits", verifyBody(service.creditsSecret))) },
    { rpc: "native_verify_ratelimited", ...service.verifying(frameFile("ratelimited", verifyBody(service.rateLimitedSecret))) },
  ]);
  const best = new Map<string, { cpuUsPerCall: number; heapKbPerCall: number }>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const { rpc, target, url, body, rootKey } of measured) {
      const figures = await perCall(target, url, body, rootKey);
      const kept = best.get(rpc);
      if (!kept || figures.cpuUsPerCall < kept.cpuUsPerCall) best.set(rpc, figures);
    }
  }
  for (const { rpc } of measured) {
    const { cpuUsPerCall, heapKbPerCall } = best.get(rpc)!;
    console.log(JSON.stringify({ rpc, calls: CALLS, cpu_us_per_call: tenths(cpuUsPerCall), heap_kb_per_call: tenths(heapKbPerCall) }));
  }
} finally {
  for (const stop of stops) stop();
  rmSync(work, { recursive: true, force: true });
}
