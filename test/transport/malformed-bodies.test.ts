import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createConnectRouter } from "@connectrpc/connect";
import { createAsyncIterable, type UniversalServerResponse } from "@connectrpc/connect/protocol";
import { errorFromJsonBytes } from "@connectrpc/connect/protocol-connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckRequestSchema, HealthCheckResponse_ServingStatus } from "../../gen/health/v1/health_pb.js";
import { endsInsideFrame, isDecodeFailure } from "../../src/transport/malformed-bodies.js";
import { closeSessions, frame, grpcCall } from "../support/raw-calls.js";

/**
 * The library internals src/transport/malformed-bodies.ts relies on, checked against the installed
 * connect-es and grpc-js alone (no latchkey server): an upgrade that words or keeps them otherwise
 * fails here, by name, before the wire tests see a malformed body answer INTERNAL.
 */
const CHECK = `/${Health.typeName}/Check`;
const wellFormed = toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, { service: "latchkey" }));
/** Field 1, length 5, and then nothing: no protobuf decoder reads this. */
const undecodable = Uint8Array.of(0x0a, 0x05);

const healthImplementation = {
  check: () => ({ status: HealthCheckResponse_ServingStatus.SERVING }),
  async *watch() {},
  list: () => ({ statuses: {} }),
};

describe("connect-es's wording of the failures it blames on the body", () => {
  const router = createConnectRouter();
  router.service(Health, healthImplementation);
  const check = router.handlers.find((handler) => handler.requestPath === CHECK)!;
  const call = (contentType: string, body: Uint8Array) =>
    check({
      httpVersion: "2.0",
      url: `http://127.0.0.1${CHECK}`,
      method: "POST",
      header: new Headers({ "content-type": contentType, ...(contentType.startsWith("application/grpc") ? { te: "trailers" } : {}) }),
      body: createAsyncIterable([body]),
      signal: new AbortController().signal,
    });
  const bodyOf = async (answer: UniversalServerResponse) => {
    const chunks: Uint8Array[] = [];
    for await (const chunk of answer.body ?? []) chunks.push(chunk);
    return Buffer.concat(chunks);
  };
  const grpcFailure = async (body: Uint8Array): Promise<ConnectError | undefined> => {
    const answer = await call("application/grpc", body);
    await bodyOf(answer);
    return findTrailerError(answer.trailer!);
  };

  it("a binary Connect body that does not decode", async () => {
    const answer = await call("application/proto", undecodable);
    expect(isDecodeFailure(errorFromJsonBytes(await bodyOf(answer), undefined, new ConnectError("no error in the body", Code.Unknown)))).toBe(true);
  });

  it("a gRPC message that does not decode", async () => {
    expect(isDecodeFailure(await grpcFailure(frame(undecodable)))).toBe(true);
  });

  it("a unary gRPC call with no message, and with two", async () => {
    expect(isDecodeFailure(await grpcFailure(new Uint8Array()))).toBe(true);
    expect(isDecodeFailure(await grpcFailure(Buffer.concat([frame(wellFormed), frame(wellFormed)])))).toBe(true);
  });

  it("and no failure of a well-formed call", async () => {
    expect(await grpcFailure(frame(wellFormed))).toBeUndefined();
  });
});

describe("grpc-js's stream decoder state at the end of a body", () => {
  let server: grpc.Server;
  let url: string;
  const seen: boolean[] = [];
  beforeAll(async () => {
    const recordAtHalfClose: grpc.ServerInterceptor = (_, call) =>
      new grpc.ServerInterceptingCall(call, {
        start: (next) =>
          next({
            onReceiveHalfClose: (passOn) => {
              seen.push(endsInsideFrame(call));
              passOn();
            },
          }),
      });
    server = new grpc.Server({ interceptors: [recordAtHalfClose] });
    server.addService(
      {
        check: {
          path: CHECK,
          requestStream: false,
          responseStream: false,
          requestSerialize: (bytes: Buffer) => bytes,
          requestDeserialize: (bytes: Buffer) => bytes,
          responseSerialize: (bytes: Buffer) => bytes,
          responseDeserialize: (bytes: Buffer) => bytes,
        },
      },
      { check: (_: unknown, callback: grpc.sendUnaryData<Buffer>) => callback(null, Buffer.alloc(0)) },
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    url = `http://127.0.0.1:${port}`;
  });
  afterAll(() => {
    closeSessions();
    server.forceShutdown();
  });

  it("is between frames after a whole frame, and inside one after a body cut short of its length prefix", async () => {
    seen.length = 0;
    await grpcCall(url, CHECK, frame(wellFormed));
    await grpcCall(url, CHECK, frame(wellFormed, wellFormed.length + 10));
    expect(seen).toEqual([false, true]);
  });
});
