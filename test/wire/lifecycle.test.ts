import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MongoClient } from "mongodb";
import { describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/health/v1/health_pb.js";
import { KeyService } from "../../gen/latchkey/v1/key_pb.js";
import { KeyspaceService } from "../../gen/latchkey/v1/keyspace_pb.js";
import type { Store } from "../../src/store/store.js";
import { expectCode } from "../support/api.js";
import { startTestServer } from "../support/server.js";

describe("graceful shutdown", () => {
  it("stops accepting on every port, lets the calls in flight finish, and ends health watches", async () => {
    let arrivals = 0;
    let reachedStore!: () => void;
    const reached = new Promise<void>((resolve) => (reachedStore = resolve));
    let releaseStore!: () => void;
    const released = new Promise<void>((resolve) => (releaseStore = resolve));
    const gatedTable = (table: Store["keyspaces"]): Store["keyspaces"] =>
      new Proxy(table, {
        get(target, property, receiver) {
          if (property !== "insert") return Reflect.get(target, property, receiver);
          return async (...args: Parameters<Store["keyspaces"]["insert"]>) => {
            if (++arrivals === 2) reachedStore();
            await released;
            return target.insert(...args);
          };
        },
      });
    const gated = (store: Store): Store =>
      new Proxy(store, {
        get: (target, property, receiver) => (property === "keyspaces" ? gatedTable(target.keyspaces) : Reflect.get(target, property, receiver)),
      });
    const server = await startTestServer({ wrapStore: gated });
    const transport = createGrpcTransport({ baseUrl: server.url, interceptors: [server.auth] });
    const watch = createClient(Health, transport).watch({})[Symbol.asyncIterator]();
    const statuses = [(await watch.next()).value.status];
    const watching = (async () => {
      for (let next = await watch.next(); !next.done; next = await watch.next()) statuses.push(next.value.status);
    })();

    const inFlight = createClient(KeyspaceService, transport).createKeyspace({ keyspace: { name: "slow" } });
    const nativeInFlight = createClient(KeyspaceService, createGrpcTransport({ baseUrl: server.grpcUrl, interceptors: [server.auth] })).createKeyspace({
      keyspace: { name: "slow native" },
    });
    await reached;
    const closing = server.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const url of [server.url, server.grpcUrl]) {
      await expectCode(createClient(KeyspaceService, createGrpcTransport({ baseUrl: url, interceptors: [server.auth] })).listKeyspaces({}), Code.Unavailable);
    }
    releaseStore();

    expect((await inFlight).keyspace!.name).toBe("slow");
    expect((await nativeInFlight).keyspace!.name).toBe("slow native");
    await closing;
    await watching;
    expect(statuses).toEqual([HealthCheckResponse_ServingStatus.SERVING, HealthCheckResponse_ServingStatus.NOT_SERVING]);
    await server.store.close();
  });

  it("ends within its timeout even when a client leaves a stream open", async () => {
    const server = await startTestServer();
    for (const url of [server.url, server.grpcUrl]) {
      await createClient(Health, createGrpcTransport({ baseUrl: url, interceptors: [server.auth] }))
        .watch({})
        [Symbol.asyncIterator]()
        .next();
    }
    const started = Date.now();
    await server.stop();
    expect(Date.now() - started).toBeLessThan(5000 + 2000);
  });
});

describe("secrecy", () => {
  it("keeps the plaintext secret out of every stored document and every log line", async () => {
    const server = await startTestServer();
    const transport = createGrpcTransport({ baseUrl: server.url, interceptors: [server.auth] });
    const keyspaces = createClient(KeyspaceService, transport);
    const keys = createClient(KeyService, transport);
    const { keyspace } = await keyspaces.createKeyspace({ keyspace: { name: "secrets", startLength: 6 } });
    const secrets: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { key, secret } = await keys.createKey({ key: { keyspaceId: keyspace!.id, name: `k${i}` } });
      secrets.push(secret);
      await keys.getKey({ id: key!.id });
      await keys.updateKey({ key: { id: key!.id, name: "x" }, updateMask: { paths: ["name"] } });
    }

    const client = await MongoClient.connect(server.mongoUri);
    const db = client.db(server.databaseName);
    const dump: string[] = [];
    for (const { name } of await db.listCollections().toArray()) {
      dump.push(JSON.stringify(await db.collection(name).find().toArray()));
    }
    await client.close();
    await server.stop();

    expect(dump.join("").length).toBeGreaterThan(1000);
    expect(server.logs.length).toBeGreaterThan(10);
    secrets.push(server.rootKey);
    for (const secret of secrets) {
      const hidden = secret.slice(secret.indexOf("_") + 1 + 6);
      for (const text of [...dump, ...server.logs]) expect(text).not.toContain(hidden);
    }
  });
});
