import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateKeyRequestSchema, KeyService } from "../../gen/latchkey/v1/key_pb.js";
import { KeyspaceService } from "../../gen/latchkey/v1/keyspace_pb.js";
import { VerifyKeyRequestSchema } from "../../gen/latchkey/v1/verify_pb.js";
import { closeSessions, connectCall, frame, grpcCall, grpcWebCall, http2Post, type RawAnswer } from "../support/raw-calls.js";
import { startTestServer, type TestServer } from "../support/server.js";

const INVALID_ARGUMENT = 3;
const VERIFY = "/latchkey.v1.VerifyService/VerifyKey";
const CREATE_KEY = "/latchkey.v1.KeyService/CreateKey";

let server: TestServer;
let keyspaceId: string;
let auth: Record<string, string>;
beforeAll(async () => {
  server = await startTestServer();
  auth = { authorization: `Bearer ${server.rootKey}` };
  const transport = createGrpcTransport({ baseUrl: server.url, interceptors: [server.auth] });
  keyspaceId = (await createClient(KeyspaceService, transport).createKeyspace({ keyspace: { name: "malformed" } })).keyspace!.id;
});
afterAll(async () => {
  closeSessions();
  await server.stop();
});

const keys = () => createClient(KeyService, createGrpcTransport({ baseUrl: server.url, interceptors: [server.auth] }));

async function keyWithCredits(credits: bigint) {
  const { key, secret } = await keys().createKey({ key: { keyspaceId, credits: { remaining: credits } } });
  return { id: key!.id, secret };
}

/** Every way a unary call's body reaches the server: gRPC on both HTTP/2 listeners, gRPC-Web and Connect binary on both Connect listeners. */
const listeners: [string, (path: string, message: Uint8Array) => Promise<RawAnswer>][] = [
  ["gRPC on the Connect HTTP/2 port", (path, message) => grpcCall(server.url, path, frame(message), auth)],
  ["gRPC on the native grpc-js port", (path, message) => grpcCall(server.grpcUrl, path, frame(message), auth)],
  ["gRPC-Web over HTTP/2", (path, message) => grpcWebCall(server.url, path, frame(message), auth)],
  ["gRPC-Web over HTTP/1.1", (path, message) => grpcWebCall(server.http1Url, path, frame(message), auth, true)],
  ["Connect binary over HTTP/2", (path, message) => connectCall(server.url, path, message, "application/proto", auth)],
  ["Connect binary over HTTP/1.1", (path, message) => connectCall(server.http1Url, path, message, "application/proto", auth, true)],
];

const isInvalidArgument = (answer: RawAnswer) => answer.code === INVALID_ARGUMENT || answer.code === "invalid_argument";

/** A Struct value nested `depth` levels deep: {"a": {"a": … {}}}, written by hand because protobuf-es would refuse to build it. */
function nestedStruct(depth: number): Uint8Array {
  // Struct.fields (1) is a map entry: key (1) and Value (2); Value.struct_value is field 5.
  let struct: Uint8Array = new Uint8Array(0);
  for (let level = 0; level < depth; level++) {
    const value = lengthDelimited(5, struct);
    const entry = Buffer.concat([lengthDelimited(1, Buffer.from("a")), lengthDelimited(2, value)]);
    struct = lengthDelimited(1, entry);
  }
  return struct;
}
function lengthDelimited(field: number, bytes: Uint8Array): Uint8Array {
  const header: number[] = [(field << 3) | 2];
  let length = bytes.length;
  while (length > 0x7f) {
    header.push((length & 0x7f) | 0x80);
    length >>>= 7;
  }
  header.push(length);
  return Buffer.concat([Buffer.from(header), bytes]);
}

describe.each(listeners)("a malformed body over %s", (_, call) => {
  it("of junk bytes answers INVALID_ARGUMENT", async () => {
    const answer = await call(VERIFY, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]));
    expect(answer).toMatchObject({ message: "the request body is not a well-formed latchkey.v1.VerifyKeyRequest" });
    expect(isInvalidArgument(answer), JSON.stringify(answer)).toBe(true);
  });

  it("with a field cut short answers INVALID_ARGUMENT", async () => {
    const message = toBinary(VerifyKeyRequestSchema, create(VerifyKeyRequestSchema, { key: "lk_anything_at_all" }));
    const answer = await call(VERIFY, message.subarray(0, message.length - 3));
    expect(isInvalidArgument(answer), JSON.stringify(answer)).toBe(true);
  });

  it.each([40, 5000])("with meta nested %i levels deep answers INVALID_ARGUMENT and writes nothing", async (depth) => {
    const key = toBinary(CreateKeyRequestSchema, create(CreateKeyRequestSchema, { key: { keyspaceId, name: `nested-${depth}` } }));
    // Key.meta is field 13 of Key; CreateKeyRequest.key is field 1, whose two-byte header is dropped to append to the Key.
    const keyMessage = Buffer.concat([key.subarray(2), lengthDelimited(13, nestedStruct(depth))]);
    const answer = await call(CREATE_KEY, lengthDelimited(1, keyMessage));
    expect(isInvalidArgument(answer), JSON.stringify(answer)).toBe(true);
    const listed = await keys().listKeys({ keyspaceId });
    expect(listed.keys.filter((listedKey) => listedKey.name === `nested-${depth}`)).toEqual([]);
  });
});

describe.each([
  ["the Connect HTTP/2 port", () => server.url],
  ["the native grpc-js port", () => server.grpcUrl],
])("gRPC frames on %s", (_, url) => {
  it("a length prefix shorter than the body is refused without running the handler", async () => {
    const { secret, id } = await keyWithCredits(5n);
    const message = toBinary(VerifyKeyRequestSchema, create(VerifyKeyRequestSchema, { key: secret, cost: 0n }));
    // cost = 0 is the last field, two bytes: declared without it, the frame reads as a VerifyKey that spends one credit.
    const answer = await grpcCall(url(), VERIFY, frame(message, message.length - 2), auth);
    expect(answer.code).toBe(INVALID_ARGUMENT);
    expect((await keys().getKey({ id })).key?.credits?.remaining).toBe(5n);
  });

  it("a length prefix longer than the body answers INVALID_ARGUMENT", async () => {
    const message = toBinary(VerifyKeyRequestSchema, create(VerifyKeyRequestSchema, { key: "lk_anything" }));
    expect((await grpcCall(url(), VERIFY, frame(message, message.length + 10), auth)).code).toBe(INVALID_ARGUMENT);
  });

  it("two messages on a unary call are refused without running the handler", async () => {
    const { secret, id } = await keyWithCredits(5n);
    const message = toBinary(VerifyKeyRequestSchema, create(VerifyKeyRequestSchema, { key: secret }));
    const answer = await grpcCall(url(), VERIFY, Buffer.concat([frame(message), frame(message)]), auth);
    expect(answer.code).toBe(INVALID_ARGUMENT);
    expect((await keys().getKey({ id })).key?.credits?.remaining).toBe(5n);
  });

  it("no message at all on a unary call answers INVALID_ARGUMENT", async () => {
    expect((await grpcCall(url(), VERIFY, new Uint8Array(0), auth)).code).toBe(INVALID_ARGUMENT);
  });
});

describe("a body over the size limit on the Connect HTTP/2 port", () => {
  it("is answered, and its stream reset once the answer is out, so a client still sending does not hang", async () => {
    const oversized = Buffer.alloc(2 * 1024 * 1024, 0x41);
    const answer = await http2Post(server.url, VERIFY, oversized, { "content-type": "application/proto", "connect-protocol-version": "1", ...auth }, 5000);
    expect(answer.httpStatus).toBe(429);
    expect(JSON.parse(answer.body.toString("utf8"))).toMatchObject({ code: "resource_exhausted" });
  });
});
