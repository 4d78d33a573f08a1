import { fileURLToPath } from "node:url";
import { fromBinary } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "../../gen/google/rpc/status_pb.js";
import { KeyService } from "../../gen/latchkey/v1/key_pb.js";
import { KeyspaceService } from "../../gen/latchkey/v1/keyspace_pb.js";
import { RootKeyService } from "../../gen/latchkey/v1/root_key_pb.js";
import { VerifyService } from "../../gen/latchkey/v1/verify_pb.js";
import { newId } from "../../src/domain/ids.js";
import { expectCode } from "../support/api.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { transportsOf } from "../support/transports.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

/** Remembers the response headers of every call made through it. */
function headerSpy(): { interceptor: Interceptor; headers: Headers[] } {
  const headers: Headers[] = [];
  return {
    headers,
    interceptor: (next) => async (request) => {
      try {
        const response = await next(request);
        headers.push(response.header);
        return response;
      } catch (error) {
        if (error instanceof ConnectError) headers.push(error.metadata);
        throw error;
      }
    },
  };
}

describe.each(transportsOf(() => server))("the call pipeline over %s", (_, transport) => {
  it("INVALID_ARGUMENT carries an ErrorInfo and a BadRequest naming the field", async () => {
    const error = await expectCode(createClient(KeyService, transport()).getKey({ id: "nope" }), Code.InvalidArgument, "id is not a key id");
    expect(error.findDetails(ErrorInfoSchema)).toMatchObject([{ domain: "latchkey", reason: "INVALID_FIELD" }]);
    expect(error.findDetails(BadRequestSchema)[0]?.fieldViolations).toMatchObject([{ field: "id", description: "is not a key id" }]);
  });

  it("NOT_FOUND and PERMISSION_DENIED carry their reason and facts", async () => {
    const id = newId("ks", Date.now());
    const missing = await expectCode(createClient(KeyspaceService, transport()).getKeyspace({ id }), Code.NotFound);
    expect(missing.findDetails(ErrorInfoSchema)).toMatchObject([{ reason: "RESOURCE_NOT_FOUND", metadata: { resource: "keyspace", id } }]);
    const { secret } = await createClient(RootKeyService, transport()).createRootKey({ rootKey: { name: "reader", permissions: ["key.read"] } });
    const reader: Interceptor = (next) => (request) => (request.header.set("authorization", `Bearer ${secret}`), next(request));
    const denied = await expectCode(createClient(KeyspaceService, transport([reader])).listKeyspaces({}), Code.PermissionDenied);
    expect(denied.findDetails(ErrorInfoSchema)).toMatchObject([{ reason: "PERMISSION_MISSING", metadata: { permission: "keyspace.read" } }]);
  });

  it("UNAUTHENTICATED says whether credentials were missing or refused", async () => {
    const missing = await expectCode(createClient(KeyspaceService, transport([])).listKeyspaces({}), Code.Unauthenticated);
    expect(missing.findDetails(ErrorInfoSchema)[0]?.reason).toBe("CREDENTIALS_MISSING");
  });

  it("answers every call with a request id, ours or the caller's own", async () => {
    const spy = headerSpy();
    const offered: Interceptor = (next) => (request) => (request.header.set("x-request-id", "trace-42.a_b"), next(request));
    await createClient(VerifyService, transport([server.auth, spy.interceptor])).verifyKey({ key: "pay_unknown" });
    await expectCode(createClient(KeyService, transport([server.auth, spy.interceptor])).getKey({ id: "nope" }), Code.InvalidArgument);
    await createClient(VerifyService, transport([server.auth, offered, spy.interceptor])).verifyKey({ key: "pay_unknown" });
    const ids = spy.headers.map((header) => header.get("x-request-id"));
    expect(ids[0]).toMatch(/^[A-Za-z0-9]{9,}$/);
    expect(ids[1]).toMatch(/^[A-Za-z0-9]{9,}$/);
    expect(ids[0]).not.toBe(ids[1]);
    expect(ids[2]).toBe("trace-42.a_b");
    expect(server.logs.some((line) => line.includes('"requestId":"trace-42.a_b"'))).toBe(true);
  });
});

describe("error details for a caller that knows nothing of Connect", () => {
  const protoDir = fileURLToPath(new URL("../../proto", import.meta.url));
  const definition = protoLoader.loadSync(["latchkey/v1/key.proto"], { includeDirs: [protoDir, `${protoDir}/vendor/protovalidate`] });
  const latchkey = (grpc.loadPackageDefinition(definition) as any).latchkey.v1;

  it.each([
    ["the Connect router's HTTP/2 port", () => server.port],
    ["the native grpc-js port", () => server.grpcPort!],
  ])("@grpc/grpc-js reads google.rpc.Status details on %s", async (_, port) => {
    const client = new latchkey.KeyService(`127.0.0.1:${port()}`, grpc.credentials.createInsecure()) as grpc.Client;
    const metadata = new grpc.Metadata();
    metadata.set("authorization", `Bearer ${server.rootKey}`);
    const error = await new Promise<grpc.ServiceError>((resolve) =>
      (client as any).getKey({ id: "nope" }, metadata, (caught: grpc.ServiceError) => resolve(caught)),
    );
    client.close();
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    const status = fromBinary(StatusSchema, error.metadata.get("grpc-status-details-bin")[0] as Buffer);
    expect(status).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, message: "id is not a key id" });
    const [info, badRequest] = status.details.map((detail) => anyUnpack(detail, ErrorInfoSchema) ?? anyUnpack(detail, BadRequestSchema));
    expect(info).toMatchObject({ reason: "INVALID_FIELD" });
    expect(badRequest).toMatchObject({ fieldViolations: [{ field: "id" }] });
  });
});

describe("an unexpected failure", () => {
  it("answers INTERNAL with the request id to quote, and logs the error with its stack under that id", async () => {
    const failing = await startTestServer({
      wrapStore: (store) =>
        new Proxy(store, {
          get: (target, property, receiver) =>
            property === "listKeys" ? () => Promise.reject(new TypeError("the store broke")) : Reflect.get(target, property, receiver),
        }),
    });
    try {
      const keyspace = await createClient(KeyspaceService, transportsOf(() => failing)[0]![1]()).createKeyspace({ keyspace: { name: "k" } });
      for (const [, transport] of transportsOf(() => failing)) {
        const error = await expectCode(createClient(KeyService, transport()).listKeys({ keyspaceId: keyspace.keyspace!.id }), Code.Internal);
        const requestId = /request id (\w+)/.exec(error.rawMessage)?.[1];
        expect(error.rawMessage).not.toContain("the store broke");
        expect(error.findDetails(ErrorInfoSchema)).toMatchObject([{ reason: "INTERNAL", metadata: { requestId } }]);
        const logged = failing.logs.map((line) => JSON.parse(line)).find((line) => line.message === "unexpected failure" && line.requestId === requestId);
        expect(logged?.stack).toContain("TypeError: the store broke");
      }
    } finally {
      await failing.stop();
    }
  });
});

describe("metrics", () => {
  it("serves Prometheus text with RPCs by procedure and code, verdicts, cache and store figures", async () => {
    const verify = createClient(VerifyService, transportsOf(() => server)[1]![1]());
    await verify.verifyKey({ key: "pay_unknown" });
    await expectCode(createClient(KeyService, transportsOf(() => server)[0]![1]()).getKey({ id: "nope" }), Code.InvalidArgument);
    const response = await fetch(server.metricsUrl);
    expect(response.headers.get("content-type")).toContain("text/plain");
    const text = await response.text();
    expect(text).toMatch(/latchkey_rpc_duration_seconds_count\{procedure="latchkey.v1.VerifyService\/VerifyKey",code="OK"\} [1-9]/);
    expect(text).toMatch(/latchkey_rpc_duration_seconds_count\{procedure="latchkey.v1.KeyService\/GetKey",code="INVALID_ARGUMENT"\} [1-9]/);
    expect(text).toMatch(/latchkey_verifications_total\{code="not_found"\} [1-9]/);
    expect(text).toMatch(/latchkey_store_call_duration_seconds_count\{method="rootKeys.find",outcome="ok"\} [1-9]/);
    expect(text).toContain("latchkey_key_cache_entries ");
    expect(text).toContain("latchkey_change_feed_lag_seconds_count ");
    expect(text).toContain("latchkey_usage_flush_failures_total 0");
    expect((await fetch(server.metricsUrl.replace("/metrics", "/other"))).status).toBe(404);
  });
});
