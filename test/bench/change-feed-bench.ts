/**
 * `npm run bench:feed`: what the change feed costs with many instances on one MongoDB. Starts
 * FEED_INSTANCES instances (8 unless set) on the test harness's MongoDB, polling every FEED_POLL_MS
 * (the service's default `CHANGE_POLL_MS` unless set), warms every instance's
 * cache with the same keys, then measures:
 * - the feed's polls per second against the store while nothing changes, read from each
 *   instance's own store-call counter on /metrics (method changesAfter);
 * - how long a revocation made through one instance takes until every other instance answers
 *   REVOKED for that key, over FEED_REVOCATIONS revocations (p50, p99, max).
 * Also importable: verify-bench.ts runs it inside `npm run bench`.
 */
import { randomBytes } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { KeyService } from "../../gen/latchkey/v1/key_pb.js";
import { KeyspaceService } from "../../gen/latchkey/v1/keyspace_pb.js";
import { VerifyCode, VerifyService } from "../../gen/latchkey/v1/verify_pb.js";
import { WorkspaceService } from "../../gen/latchkey/v1/workspace_pb.js";
import { bearer } from "../support/auth.js";
import { startTestMongo } from "../support/mongodb.js";
import { type ServiceProcess, startService } from "../support/service-process.js";
import { loadConfig } from "../../src/config.js";
import { freePort } from "../support/free-port.js";
import { metricSum, round, scrapeMetrics } from "./bench-support.js";

/** The instances' poll interval: the service's default unless FEED_POLL_MS sets another (checked as CHANGE_POLL_MS is), to weigh one against the other. */
const POLL_MS = loadConfig({ CHANGE_POLL_MS: process.env.FEED_POLL_MS }).verification.changePollMs;
/** A revocation not seen everywhere within this long counts as lost and fails the run. */
const PROPAGATION_DEADLINE_MS = 30_000;

interface Instance {
  service: ServiceProcess;
  grpcPort: number;
  metricsPort: number;
}

export interface ChangeFeedFigures {
  feed_instances: number;
  feed_poll_ms: number;
  feed_polls_per_s: number;
  feed_polls_per_s_per_instance: number;
  feed_poll_mean_ms: number;
  feed_propagation_p50_ms: number;
  feed_propagation_p99_ms: number;
  feed_propagation_max_ms: number;
  feed_revocations: number;
}

export async function changeFeedFigures(
  mongoUri: string,
  options: { instances?: number; revocations?: number; idleSeconds?: number } = {},
): Promise<ChangeFeedFigures> {
  const count = options.instances ?? 8;
  const revocations = options.revocations ?? 50;
  const idleSeconds = options.idleSeconds ?? 5;
  const adminToken = randomBytes(32).toString("hex");
  const database = `latchkey_feed_${randomBytes(4).toString("hex")}`;
  const instances: Instance[] = [];
  try {
    for (let i = 0; i < count; i++)
      instances.push(await startInstance({ ADMIN_TOKEN: adminToken, MONGODB_URI: mongoUri, MONGODB_DATABASE: database, CHANGE_POLL_MS: String(POLL_MS) }));
    const transports = instances.map(
      (instance) => (secret: string) => createGrpcTransport({ baseUrl: `http://127.0.0.1:${instance.grpcPort}`, interceptors: [bearer(secret)] }),
    );
    const made = await createClient(WorkspaceService, transports[0]!(adminToken)).createWorkspace({ workspace: { name: "feed bench" } });
    const rootKey = made.rootKeySecret;
    const keys = createClient(KeyService, transports[0]!(rootKey));
    const { keyspace } = await createClient(KeyspaceService, transports[0]!(rootKey)).createKeyspace({ keyspace: { name: "feed" } });
    const issued = [];
    for (let i = 0; i < revocations; i++) issued.push(await keys.createKey({ key: { keyspaceId: keyspace!.id } }));
    const verifiers = transports.map((transport) => createClient(VerifyService, transport(rootKey)));
    for (const verify of verifiers) await verify.verifyKeys({ requests: issued.map(({ secret }) => ({ key: secret })) });

    const before = await Promise.all(instances.map((instance) => feedPolls(instance.metricsPort)));
    const idleStart = performance.now();
    await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
    const after = await Promise.all(instances.map((instance) => feedPolls(instance.metricsPort)));
    const idleSecondsMeasured = (performance.now() - idleStart) / 1000;
    const polls = after.reduce((sum, figures, i) => sum + figures.count - before[i]!.count, 0);
    const pollSeconds = after.reduce((sum, figures, i) => sum + figures.seconds - before[i]!.seconds, 0);

    const propagation: number[] = [];
    for (const { key, secret } of issued) {
      const start = performance.now();
      await keys.revokeKey({ id: key!.id });
      await Promise.all(verifiers.slice(1).map((verify) => untilRevoked(verify, secret, start)));
      propagation.push(performance.now() - start);
    }
    propagation.sort((a, b) => a - b);
    const at = (q: number) => round(propagation[Math.min(propagation.length - 1, Math.ceil(q * propagation.length) - 1)]!);
    return {
      feed_instances: count,
      feed_poll_ms: POLL_MS,
      feed_polls_per_s: round(polls / idleSecondsMeasured),
      feed_polls_per_s_per_instance: round(polls / idleSecondsMeasured / count),
      feed_poll_mean_ms: round(pollSeconds > 0 ? (1000 * pollSeconds) / Math.max(1, polls) : 0),
      feed_propagation_p50_ms: at(0.5),
      feed_propagation_p99_ms: at(0.99),
      feed_propagation_max_ms: round(propagation.at(-1)!),
      feed_revocations: revocations,
    };
  } finally {
    await Promise.all(instances.map((instance) => instance.service.stop()));
  }
}

async function untilRevoked(verify: { verifyKey(request: { key: string }): Promise<{ code: VerifyCode }> }, secret: string, start: number) {
  while (performance.now() - start < PROPAGATION_DEADLINE_MS) {
    if ((await verify.verifyKey({ key: secret })).code === VerifyCode.REVOKED) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`a revocation did not reach every instance within ${PROPAGATION_DEADLINE_MS} ms`);
}

/** The instance's count of change-feed reads and the seconds they took, from its own /metrics. */
async function feedPolls(metricsPort: number): Promise<{ count: number; seconds: number }> {
  const text = await scrapeMetrics(metricsPort);
  const read = (suffix: string) => metricSum(text, `latchkey_store_call_duration_seconds_${suffix}`, ['method="changesAfter"']);
  return { count: read("count"), seconds: read("sum") };
}

async function startInstance(env: Record<string, string>): Promise<Instance> {
  const [grpcPort, metricsPort] = [await freePort(), await freePort()];
  const service = startService({ ...env, GRPC_PORT: String(grpcPort), METRICS_PORT: String(metricsPort), ACCESS_LOG: "false" });
  await service.listening;
  return { service, grpcPort, metricsPort };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const mongo = await startTestMongo((line) => console.error(`[bench mongodb] ${line}`));
  console.error(`[bench mongodb] ${mongo.description}`);
  try {
    const figures = await changeFeedFigures(mongo.uri, {
      instances: Number(process.env.FEED_INSTANCES ?? 8),
      revocations: Number(process.env.FEED_REVOCATIONS ?? 50),
    });
    console.log(`change feed, ${figures.feed_instances} instances polling every ${figures.feed_poll_ms} ms:`);
    console.log(
      `  ${figures.feed_polls_per_s} polls/s against the store in all (${figures.feed_polls_per_s_per_instance} per instance), ${figures.feed_poll_mean_ms} ms per poll on average`,
    );
    console.log(
      `  a revocation reaches all instances in p50 ${figures.feed_propagation_p50_ms} ms, p99 ${figures.feed_propagation_p99_ms} ms, max ${figures.feed_propagation_max_ms} ms (${figures.feed_revocations} revocations)`,
    );
    console.log(JSON.stringify(figures));
  } finally {
    await mongo.stop();
  }
}
