import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";

/**
 * A caller that knows nothing of Connect: @grpc/grpc-js with stubs built at run time from proto/,
 * the way an internal service in another codebase would call latchkey.
 */
const protoDir = fileURLToPath(new URL("../../proto", import.meta.url));
const definition = protoLoader.loadSync(["latchkey/v1/keyspace.proto", "latchkey/v1/key.proto"], {
  includeDirs: [protoDir, `${protoDir}/vendor/protovalidate`],
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});
const latchkey = (grpc.loadPackageDefinition(definition) as any).latchkey.v1;

type Unary = (request: object, metadata: grpc.Metadata, callback: (error: grpc.ServiceError | null, response: any) => void) => void;
const call = (client: grpc.Client, method: string, request: object) => {
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${server.rootKey}`);
  return new Promise<any>((resolve, reject) =>
    ((client as any)[method] as Unary).call(client, request, metadata, (error, response) => (error ? reject(error) : resolve(response))),
  );
};

async function expectStatus(promise: Promise<unknown>, code: grpc.status, message: string) {
  const error = (await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )) as grpc.ServiceError;
  expect(error?.code).toBe(code);
  expect(error.details).toBe(message);
}

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

describe.each([
  ["the Connect router's HTTP/2 port", () => server.port],
  ["the native grpc-js port", () => server.grpcPort!],
])("@grpc/grpc-js client built from proto/, on %s", (_, port) => {
  let keyspaces: grpc.Client;
  let keys: grpc.Client;
  beforeAll(() => {
    const address = `127.0.0.1:${port()}`;
    keyspaces = new latchkey.KeyspaceService(address, grpc.credentials.createInsecure());
    keys = new latchkey.KeyService(address, grpc.credentials.createInsecure());
  });
  afterAll(() => {
    keyspaces.close();
    keys.close();
  });

  it("creates, reads and lists keys", async () => {
    const { keyspace } = await call(keyspaces, "createKeyspace", { keyspace: { name: "grpc-js", defaultPrefix: "gj" } });
    const created = await call(keys, "createKey", {
      key: {
        keyspaceId: keyspace.id,
        permissions: ["documents.read"],
        credits: { remaining: "5" },
        meta: { fields: { team: { stringValue: "core" } } },
      },
    });
    expect(created.secret).toMatch(/^gj_/);
    expect(created.key).toMatchObject({ keyspaceId: keyspace.id, permissions: ["documents.read"], status: "KEY_STATUS_ACTIVE", enabled: true });
    expect(created.key.credits.remaining).toBe("5");
    expect(created.key.meta.fields.team.stringValue).toBe("core");
    const { key } = await call(keys, "getKey", { id: created.key.id });
    expect(key.id).toBe(created.key.id);
    const listed = await call(keys, "listKeys", { keyspaceId: keyspace.id });
    expect(listed.keys.map((k: { id: string }) => k.id)).toEqual([created.key.id]);
  });

  it("receives each error's code and its whole message", async () => {
    const { keyspace } = await call(keyspaces, "createKeyspace", { keyspace: { name: "errors" } });
    await expectStatus(
      call(keys, "createKey", { key: { keyspaceId: keyspace.id, permissions: ["ok", "not ok"] } }),
      grpc.status.INVALID_ARGUMENT,
      "key.permissions[1] must be 1 to 128 letters or digits or the characters dot underscore hyphen colon asterisk",
    );
    await expectStatus(call(keys, "getKey", { id: "" }), grpc.status.INVALID_ARGUMENT, "id must not be empty");
    const missing = "key_11111111111111111111A";
    await expectStatus(call(keys, "getKey", { id: missing }), grpc.status.NOT_FOUND, `key ${missing} not found`);
    const { key } = await call(keys, "createKey", { key: { keyspaceId: keyspace.id } });
    await expectStatus(
      call(keyspaces, "deleteKeyspace", { id: keyspace.id }),
      grpc.status.FAILED_PRECONDITION,
      `keyspace ${keyspace.id} still holds 1 keys. Delete them first or set force`,
    );
    await call(keys, "revokeKey", { id: key.id });
    await expectStatus(call(keys, "revokeKey", { id: key.id }), grpc.status.FAILED_PRECONDITION, `key ${key.id} is revoked and can no longer be changed`);
  });
});
