import { createClient, createRouterTransport } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { KeyService } from "../../gen/latchkey/v1/key_pb.js";
import { KeyspaceService } from "../../gen/latchkey/v1/keyspace_pb.js";
import { WorkspaceService } from "../../gen/latchkey/v1/workspace_pb.js";
import { apiRoutes, HEALTH_REPORTED_SERVICES, serviceDeps, serviceImplementations } from "../../src/app/services.js";
import { createLogger } from "../../src/observability/log.js";
import { Metrics } from "../../src/observability/metrics.js";
import { guardedStore } from "../../src/store/guarded.js";
import { MemoryStore } from "../../src/store/memory.js";
import { addToGrpcJsServer } from "../../src/transport/grpc-js-adapter.js";
import { HealthState } from "../../src/transport/health.js";
import { createVerification, DEFAULT_VERIFICATION_OPTIONS } from "../../src/verify/index.js";
import { bearer } from "../support/auth.js";
import { perCallKeys } from "./bench-support.js";

/** How long the calls made may take to answer after the last is made: cached calls answer at once. */
const ANSWER_WAIT_MS = 10_000;

type Definition = grpc.MethodDefinition<unknown, unknown>;
type UnaryHandler = (call: StandInCall, callback: grpc.sendUnaryData<unknown>) => void;

/** What the grpc-js adapter's unary handlers use of a call, as grpc-js hands it over. */
class StandInCall {
  constructor(
    readonly request: unknown,
    readonly metadata: grpc.Metadata,
  ) {}

  getPeer() {
    return "127.0.0.1:40000";
  }

  getDeadline() {
    return Number.POSITIVE_INFINITY;
  }

  sendMetadata(_metadata: grpc.Metadata) {}

  once() {}
}

/**
 * The service assembled as serve.ts assembles it (in memory, analytics on, no access log), with
 * the handlers its grpc-js listener would be given, for calling them in this process without
 * HTTP/2: each call decodes the request bytes, runs the handler on a stand-in call and serializes
 * the response, as grpc-js does around them.
 */
export async function inProcessService() {
  const log = createLogger("silent");
  const metrics = new Metrics();
  const adminToken = "in-process-admin-token";
  const store = guardedStore(new MemoryStore(), { metrics, timeoutMs: 5000 });
  const verification = createVerification(store, Date.now, log, { ...DEFAULT_VERIFICATION_OPTIONS, adminToken, metrics, storeTimeoutMs: 5000 });
  const deps = serviceDeps({ store, now: Date.now }, verification);
  const health = new HealthState(HEALTH_REPORTED_SERVICES.map((service) => service.typeName));
  const services = serviceImplementations(deps, health, { verification, log, accessLog: false });
  await verification.start();

  const methods = new Map<string, { definition: Definition; handler: UnaryHandler }>();
  const server = {
    addService(definitions: Record<string, Definition>, handlers: Record<string, UnaryHandler>) {
      for (const [name, definition] of Object.entries(definitions)) methods.set(definition.path, { definition, handler: handlers[name]! });
    },
  };
  const shutdown = new AbortController();
  for (const [service, implementation] of services)
    addToGrpcJsServer(server as unknown as grpc.Server, service, implementation, { shutdownSignal: shutdown.signal });

  const transport = createRouterTransport(apiRoutes(services));
  const made = await createClient(WorkspaceService, transport).createWorkspace(
    { workspace: { name: "in process" } },
    { headers: { authorization: `Bearer ${adminToken}` } },
  );
  const rootKey = made.rootKeySecret;
  const asRoot = createRouterTransport(apiRoutes(services), { transport: { interceptors: [bearer(rootKey)] } });
  const { keyspace } = await createClient(KeyspaceService, asRoot).createKeyspace({ keyspace: { name: "in process" } });
  const secrets = await perCallKeys(createClient(KeyService, asRoot), keyspace!.id);

  return {
    ...secrets,
    /** Makes `count` calls of the method with this request body, as grpc-js would, and waits until each has answered. */
    async call(path: string, body: Uint8Array, count: number) {
      const { definition, handler } = methods.get(path)!;
      const bytes = Buffer.from(body);
      const headers: [string, string][] = [
        ["content-type", "application/grpc"],
        ["te", "trailers"],
        ["authorization", `Bearer ${rootKey}`],
      ];
      let answered = 0;
      let failure: unknown;
      const callback: grpc.sendUnaryData<unknown> = (error, response) => {
        if (error) failure = error;
        else definition.responseSerialize(response);
        answered++;
      };
      for (let made = 0; made < count; made++) {
        const metadata = new grpc.Metadata();
        for (const [name, value] of headers) metadata.set(name, value);
        handler(new StandInCall(definition.requestDeserialize(bytes), metadata), callback);
        // Answers that wait for a promise settle between batches, as they would between network reads.
        if (made % 1000 === 999) await new Promise(setImmediate);
      }
      const deadline = Date.now() + ANSWER_WAIT_MS;
      while (answered < count && !failure && Date.now() < deadline) await new Promise(setImmediate);
      if (failure) throw failure;
      if (answered < count) throw new Error(`${count - answered} calls of ${path} did not answer`);
    },
    stop: () => verification.stop(),
  };
}
