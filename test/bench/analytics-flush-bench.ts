/**
 * `npm run bench:analytics-flush`: the CPU each written analytics document costs, counted rather
 * than timed. One recorder on the test harness's MongoDB counts one tagged verification of each of
 * BENCH_FLUSH_KEYS keys (10,000, as the MongoDB section of `npm run bench` uses) and flushes, over
 * and over: the first flush inserts the documents, the next ones add to them, as a running instance
 * does. For each flush, the instance's CPU (process.cpuUsage: building the updates, BSON, the
 * driver) and, when the harness started mongo-java-server itself, that server's CPU (from
 * /proc/<pid>/stat), each divided by the documents written. Prints a JSON line.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { BSON } from "mongodb";
import { DEFAULT_RETENTION } from "../../src/domain/analytics/buckets.js";
import { createLogger } from "../../src/observability/log.js";
import { MongoStore } from "../../src/store/mongodb.js";
import { AnalyticsRecorder } from "../../src/verify/analytics-recorder.js";
import type { VerifyRequest, VerifyResult } from "../../src/verify/verifier.js";
import { startTestMongo } from "../support/mongodb.js";

const KEYS = Number(process.env.BENCH_FLUSH_KEYS ?? 10_000);
const UPDATE_FLUSHES = Number(process.env.BENCH_FLUSHES ?? 8);
/** Adding flushes left out of the figures: the JVM compiles its hot paths during the first ones. */
const WARM_UP_FLUSHES = 2;
const TICKS_PER_SECOND = 100;

/** User and system CPU time of a process, in microseconds, from /proc (fields 14 and 15, in clock ticks). */
function processCpuMicros(pid: number) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / TICKS_PER_SECOND;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const round = (value: number) => Math.round(value * 10) / 10;

const mongo = await startTestMongo((line) => console.error(`[bench mongodb] ${line}`));
console.error(`[bench mongodb] ${mongo.description}`);
const store = await MongoStore.connect(mongo.uri, `latchkey_bench_${randomBytes(4).toString("hex")}`, { monitorCommands: true });
/** The analytics update commands sent, and their size in BSON: what the server has to parse and apply. */
const sent = { commands: 0, bytes: 0 };
store.client.on("commandStarted", (event) => {
  if (event.commandName !== "update" || !String(event.command.update).startsWith("analytics_")) return;
  sent.commands++;
  sent.bytes += BSON.calculateObjectSize(event.command);
});
try {
  let written = 0;
  let failures = 0;
  const recorder = new AnalyticsRecorder(store, {
    enabled: true,
    flushMs: 3_600_000,
    maxGroupsPerMinute: 2 * KEYS,
    retention: DEFAULT_RETENTION,
    now: Date.now,
    log: createLogger("silent"),
    figures: { rowsWritten: (count) => (written += count), flushFailed: () => failures++, rowsDropped: () => {} },
  });
  const results = Array.from(
    { length: KEYS },
    (_, i) =>
      ({
        verdict: "valid",
        key: { record: { id: `key_${String(i).padStart(24, "0")}`, workspaceId: "ws_bench", keyspaceId: "ks_bench", externalId: "", credits: undefined } },
      }) as unknown as VerifyResult,
  );
  const request = { workspaceId: "ws_bench", cost: 1, tags: ["plan.pro", "route.search"] } as unknown as VerifyRequest;

  const flushes: { documents: number; instanceMicros: number; serverMicros: number | undefined; commands: number; bytes: number }[] = [];
  for (let flush = 0; flush <= UPDATE_FLUSHES; flush++) {
    for (const result of results) recorder.recordVerification(request, result);
    const writtenBefore = written;
    const sentBefore = { ...sent };
    const instanceBefore = process.cpuUsage();
    const serverBefore = mongo.pid ? processCpuMicros(mongo.pid) : undefined;
    await recorder.flush();
    const instance = process.cpuUsage(instanceBefore);
    const serverMicros = mongo.pid && serverBefore !== undefined ? processCpuMicros(mongo.pid) - serverBefore : undefined;
    flushes.push({
      documents: written - writtenBefore,
      instanceMicros: instance.user + instance.system,
      serverMicros,
      commands: sent.commands - sentBefore.commands,
      bytes: sent.bytes - sentBefore.bytes,
    });
    console.error(`[bench analytics-flush] flush ${flush}: ${JSON.stringify(flushes.at(-1))}`);
  }
  const [inserting, ...updating] = flushes;
  const adding = updating.slice(WARM_UP_FLUSHES);
  const perDocument = (micros: number | undefined, documents: number) => (micros === undefined ? undefined : round(micros / documents));
  console.log(
    JSON.stringify({
      analytics_flush_keys: KEYS,
      analytics_flush_documents: adding[0]!.documents,
      analytics_flush_insert_instance_us_per_document: perDocument(inserting!.instanceMicros, inserting!.documents),
      analytics_flush_insert_server_us_per_document: perDocument(inserting!.serverMicros, inserting!.documents),
      analytics_flush_instance_us_per_document: round(median(adding.map((flush) => flush.instanceMicros / flush.documents))),
      analytics_flush_server_us_per_document: mongo.pid ? round(median(adding.map((flush) => flush.serverMicros! / flush.documents))) : undefined,
      analytics_flush_update_commands: adding[0]!.commands,
      analytics_flush_update_bytes_per_document: round(adding[0]!.bytes / adding[0]!.documents),
      analytics_flush_update_flushes: adding.length,
      analytics_flush_failures: failures,
    }),
  );
} finally {
  await store.close();
  await mongo.stop();
}
