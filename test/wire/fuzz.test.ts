import type { DescMethod } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as reflectionV1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/health/v1/health_pb.js";
import { KeyService } from "../../gen/latchkey/v1/key_pb.js";
import { KeyspaceService } from "../../gen/latchkey/v1/keyspace_pb.js";
import { VerifyService } from "../../gen/latchkey/v1/verify_pb.js";
import { API_SERVICES } from "../../src/app/api-services.js";
import { FuzzInputs } from "../support/fuzz-inputs.js";
import { closeSessions, connectCall, frame, grpcCall, grpcWebCall, type RawAnswer } from "../support/raw-calls.js";
import { startTestServer, type TestServer } from "../support/server.js";

/**
 * Random and mutated bodies for every RPC, on every listener and protocol: whatever arrives, the
 * answer is a clean code (never INTERNAL or UNKNOWN, never a hang), and the service is healthy
 * afterwards. Bounded in count; the seed is printed so a failure can be replayed with FUZZ_SEED.
 */
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const CASES_PER_METHOD_AND_LISTENER = Number(process.env.FUZZ_CASES ?? 12);
const PARALLEL_CALLS = 8;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  closeSessions();
  await server.stop();
});

type Send = (method: DescMethod, path: string, body: Uint8Array, inputs: FuzzInputs) => Promise<RawAnswer>;
const metadata = (method: DescMethod) => ({
  authorization: `Bearer ${server.rootKey}`,
  // Streaming calls that do decode would otherwise stay open; a short deadline ends them.
  ...(method.methodKind === "unary" ? {} : { "grpc-timeout": "300m" }),
});

const listeners: { name: string; streaming: boolean; send: Send }[] = [
  { name: "gRPC on the Connect HTTP/2 port", streaming: true, send: (method, path, body) => grpcCall(server.url, path, frame(body), metadata(method)) },
  { name: "gRPC on the native port", streaming: true, send: (method, path, body) => grpcCall(server.grpcUrl, path, frame(body), metadata(method)) },
  { name: "gRPC-Web over HTTP/2", streaming: true, send: (method, path, body) => grpcWebCall(server.url, path, frame(body), metadata(method)) },
  {
    name: "gRPC-Web over HTTP/1.1",
    streaming: true,
    send: (method, path, body) => grpcWebCall(server.http1Url, path, frame(body), metadata(method), true),
  },
  {
    name: "Connect binary over HTTP/2",
    streaming: false,
    send: (method, path, body) => connectCall(server.url, path, body, "application/proto", metadata(method)),
  },
  {
    name: "Connect JSON over HTTP/1.1",
    streaming: false,
    send: (method, path, _, inputs) => connectCall(server.http1Url, path, inputs.json(method.input), "application/json", metadata(method), true),
  },
];

const methods = [...API_SERVICES, Health, reflectionV1.ServerReflection].flatMap((service) =>
  service.methods.map((method) => ({ method, path: `/${service.typeName}/${method.name}` })),
);

/** A body for case `index`: a random message, a mutated one, or random bytes. */
function body(inputs: FuzzInputs, method: DescMethod, index: number): Uint8Array {
  const message = inputs.message(method.input);
  if (index % 3 === 0) return message;
  if (index % 3 === 1) return inputs.mutate(message);
  return inputs.bytes(inputs.int(64));
}

const UNCLEAN = new Set<string | number | undefined>([2, 13, "unknown", "internal"]);

describe(`fuzzing every RPC on every listener (FUZZ_SEED=${SEED})`, () => {
  it.each(listeners)("$name answers every body with a clean code", async ({ name, streaming, send }) => {
    const inputs = new FuzzInputs(SEED ^ [...name].reduce((hash, char) => hash * 31 + char.charCodeAt(0), 0));
    const calls = methods
      .filter(({ method }) => streaming || method.methodKind === "unary")
      .flatMap(({ method, path }) =>
        Array.from({ length: CASES_PER_METHOD_AND_LISTENER }, (_, index) => ({ method, path, body: body(inputs, method, index) })),
      );
    const unclean: string[] = [];
    for (let start = 0; start < calls.length; start += PARALLEL_CALLS) {
      await Promise.all(
        calls.slice(start, start + PARALLEL_CALLS).map(async ({ method, path, body }) => {
          const answer = await send(method, path, body, inputs).catch((error: unknown) => ({ httpStatus: 0, code: "no answer", message: String(error) }));
          if (UNCLEAN.has(answer.code) || answer.httpStatus === 500 || answer.httpStatus === 0) {
            unclean.push(`${path} ${JSON.stringify(answer)} body ${Buffer.from(body).toString("hex").slice(0, 200)}`);
          }
        }),
      );
    }
    expect(unclean, `seed ${SEED}`).toEqual([]);
  });

  it("leaves the service healthy and serving", async () => {
    const transport = createGrpcTransport({ baseUrl: server.grpcUrl, interceptors: [server.auth] });
    expect((await createClient(Health, transport).check({})).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    const { keyspace } = await createClient(KeyspaceService, transport).createKeyspace({ keyspace: { name: "after fuzzing" } });
    const { secret } = await createClient(KeyService, transport).createKey({ key: { keyspaceId: keyspace!.id } });
    expect((await createClient(VerifyService, transport).verifyKey({ key: secret })).valid).toBe(true);
    expect(server.logs.filter((line) => line.includes('"level":"error"'))).toEqual([]);
  });
});
