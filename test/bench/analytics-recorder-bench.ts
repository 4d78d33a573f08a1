/**
 * The analytics recorder's cost on the request path, alone: calls per second of recordVerification
 * (a key without tags, a key with two tags, an unknown secret) and of recordLimit (a hot
 * identifier), each over many iterations in one process, with nothing flushed meanwhile. Prints a
 * JSON line.
 */
import { DEFAULT_RETENTION } from "../../src/domain/analytics/buckets.js";
import { createLogger } from "../../src/observability/log.js";
import { MemoryStore } from "../../src/store/memory.js";
import { AnalyticsRecorder } from "../../src/verify/analytics-recorder.js";
import type { VerifyRequest, VerifyResult } from "../../src/verify/verifier.js";

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 2_000_000);
const KEYS = 1000;

const recorder = new AnalyticsRecorder(new MemoryStore(), {
  enabled: true,
  flushMs: 60_000,
  maxGroupsPerMinute: 10_000,
  retention: DEFAULT_RETENTION,
  now: Date.now,
  log: createLogger("silent"),
});
const keys = Array.from({ length: KEYS }, (_, i) => ({
  record: { id: `key_${String(i).padStart(24, "0")}`, workspaceId: "ws_bench", keyspaceId: "ks_bench", externalId: `customer-${i % 100}`, credits: undefined },
}));
const results = keys.map((key) => ({ verdict: "valid", key }) as unknown as VerifyResult);
const plain = { workspaceId: "ws_bench", cost: 1 } as VerifyRequest;
const unknown = { verdict: "not_found" } as VerifyResult;

function callsPerSecond(call: (i: number) => void) {
  for (let i = 0; i < 100_000; i++) call(i);
  const started = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) call(i);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return Math.round(ITERATIONS / seconds);
}

const figures = {
  analytics_record_untagged_per_s: callsPerSecond((i) => recorder.recordVerification(plain, results[i % KEYS]!)),
  // Each request decoded afresh, as the verification path gets it: a new tags array every call.
  analytics_record_two_tags_per_s: callsPerSecond((i) => recorder.recordVerification({ ...plain, tags: ["plan.pro", "route.search"] }, results[i % KEYS]!)),
  analytics_record_two_tags_unsorted_per_s: callsPerSecond((i) =>
    recorder.recordVerification({ ...plain, tags: ["route.search", "plan.pro"] }, results[i % KEYS]!),
  ),
  analytics_record_unknown_secret_per_s: callsPerSecond(() => recorder.recordVerification(plain, unknown)),
  analytics_record_limit_per_s: callsPerSecond((i) => recorder.recordLimit("ws_bench", "login", `user-${i % KEYS}`, i % 10 !== 0)),
  analytics_record_iterations: ITERATIONS,
};
console.log(JSON.stringify(figures));
