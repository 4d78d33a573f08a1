import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { KeyService } from "../../gen/latchkey/v1/key_pb.js";
import { KeyspaceService } from "../../gen/latchkey/v1/keyspace_pb.js";
import { VerifyCode, VerifyService } from "../../gen/latchkey/v1/verify_pb.js";
import { faultyStore } from "../support/faulty-store.js";
import { startTestServer } from "../support/server.js";

describe("shutdown with a store that stopped answering", () => {
  it("gives up writing what the instance held once SHUTDOWN_TIMEOUT_MS has passed, and says so", async () => {
    let faults = { failing: false, hanging: false };
    const server = await startTestServer({
      // Far beyond the shutdown timeout: without the shutdown's own deadline, each write would hold it this long.
      storeTimeoutMs: 120_000,
      wrapStore: (inner) => {
        const faulty = faultyStore(inner);
        faults = faulty.faults;
        return faulty.store;
      },
    });
    const transport = createGrpcTransport({ baseUrl: server.url, interceptors: [server.auth] });
    const { keyspace } = await createClient(KeyspaceService, transport).createKeyspace({ keyspace: { name: "shutdown" } });
    const { secret } = await createClient(KeyService, transport).createKey({ key: { keyspaceId: keyspace!.id, credits: { remaining: 1000n } } });
    // A verification leaves a key use to record and a credit share to give back.
    expect((await createClient(VerifyService, transport).verifyKey({ key: secret })).code).toBe(VerifyCode.VALID);

    faults.hanging = true;
    const started = Date.now();
    await server.close();
    const took = Date.now() - started;
    faults.hanging = false;
    await server.stop();

    // The test servers' SHUTDOWN_TIMEOUT_MS is 5 s: up to that for the listeners, then up to that for the writes.
    expect(took).toBeLessThan(2 * 5000 + 2000);
    expect(server.logs.join("\n")).toContain("writing what this instance held outlasted SHUTDOWN_TIMEOUT_MS");
  }, 60_000);
});
