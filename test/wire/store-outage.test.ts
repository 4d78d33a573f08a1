import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/health/v1/health_pb.js";
import { KeyspaceService } from "../../gen/latchkey/v1/keyspace_pb.js";
import { faultyStore } from "../support/faulty-store.js";
import { startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;
let faults: { failing: boolean; hanging: boolean };
beforeAll(async () => {
  server = await startTestServer({
    storeTimeoutMs: 300,
    storeCheckMs: 50,
    wrapStore: (inner) => {
      const faulty = faultyStore(inner);
      faults = faulty.faults;
      return faulty.store;
    },
  });
});
afterAll(() => server.stop());

const transport = () => createGrpcTransport({ baseUrl: server.url, interceptors: [server.auth] });

async function until(condition: () => Promise<boolean>, what: string) {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > 3000) throw new Error(`not ${what} within 3 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const serving = async () => (await createClient(Health, transport()).check({})).status === ServingStatus.SERVING;

describe("when the store fails", () => {
  it("health answers NOT_SERVING while the store fails its checks, and SERVING once it answers again", async () => {
    await until(serving, "SERVING at first");
    faults.failing = true;
    await until(async () => !(await serving()), "NOT_SERVING");
    faults.failing = false;
    await until(serving, "SERVING again");
  });

  it("a call the store does not answer fails UNAVAILABLE (reason STORE_UNAVAILABLE) after STORE_TIMEOUT_MS, not later", async () => {
    faults.hanging = true;
    const started = Date.now();
    try {
      const error = await createClient(KeyspaceService, transport())
        .createKeyspace({ keyspace: { name: "unanswered" } })
        .then(
          () => undefined,
          (failure: unknown) => ConnectError.from(failure),
        );
      expect(error?.code).toBe(Code.Unavailable);
      expect(error?.findDetails(ErrorInfoSchema)).toMatchObject([{ reason: "STORE_UNAVAILABLE" }]);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      faults.hanging = false;
    }
  });

  it("a database that came back empty gets its indexes again, so duplicates stay out", async () => {
    const client = await MongoClient.connect(server.mongoUri);
    try {
      const database = client.db(server.databaseName);
      await database.dropDatabase();
      const indexed = async (collection: string, name: string) =>
        (
          await database
            .collection(collection)
            .indexes()
            .catch(() => [])
        ).some((index) => index.name === name);
      // One check recreates them all, one collection after another.
      await until(async () => (await indexed("keys", "workspace_digests_unique")) && (await indexed("root_keys", "hash_unique")), "indexed again");
    } finally {
      await client.close();
    }
  });
});
