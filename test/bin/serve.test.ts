import { once } from "node:events";
import { type AddressInfo, createServer } from "node:net";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { describe, expect, inject, it } from "vitest";
import { KeyspaceService } from "../../gen/latchkey/v1/keyspace_pb.js";
import { WorkspaceService } from "../../gen/latchkey/v1/workspace_pb.js";
import { bearer, TEST_ADMIN_TOKEN } from "../support/auth.js";
import { freePort } from "../support/free-port.js";
import { startService } from "../support/service-process.js";

describe("the service process", () => {
  it("runs on the in-memory store when no MongoDB is configured, says so, and stops cleanly on SIGTERM", async () => {
    const service = startService({ ADMIN_TOKEN: TEST_ADMIN_TOKEN });
    const port = await service.listening;
    expect(service.lines.join("\n")).toContain("using the embedded in-memory store. Nothing will persist");
    const baseUrl = `http://127.0.0.1:${port}`;
    const admin = createClient(WorkspaceService, createGrpcTransport({ baseUrl, interceptors: [bearer(TEST_ADMIN_TOKEN)] }));
    const { rootKeySecret } = await admin.createWorkspace({ workspace: { name: "process" } });
    const client = createClient(KeyspaceService, createGrpcTransport({ baseUrl, interceptors: [bearer(rootKeySecret)] }));
    expect((await client.createKeyspace({ keyspace: { name: "proc" } })).keyspace!.name).toBe("proc");
    const exited = once(service.child, "exit");
    service.child.kill("SIGTERM");
    expect((await exited)[0]).toBe(0);
    expect(service.lines.at(-1)).toContain('"stopped"');
  });

  it("uses MongoDB when MONGODB_URI is set", async () => {
    const service = startService({ MONGODB_URI: inject("mongoUri"), MONGODB_DATABASE: "latchkey_process_test" });
    await service.listening;
    expect(service.lines.join("\n")).toContain("MongoDB database latchkey_process_test");
    expect(service.lines.join("\n")).not.toContain("in-memory");
    const exited = once(service.child, "exit");
    service.child.kill("SIGTERM");
    const result = await exited;
    expect(result, service.lines.join("\n") + service.stderr()).toEqual([0, null]);
  });

  it("in production, refuses to start on the in-memory store unless asked explicitly, and then makes no development workspace", async () => {
    const refused = startService({ NODE_ENV: "production" });
    await expect(refused.listening).rejects.toThrow("exited with 1");
    expect(refused.stderr()).toMatch(/^latchkey failed to start: MONGODB_URI is not set and NODE_ENV is production/);
    const allowed = startService({ NODE_ENV: "production", ALLOW_IN_MEMORY_STORE: "true", ADMIN_TOKEN: "" });
    await allowed.listening;
    expect(allowed.lines.join("\n")).toContain("using the embedded in-memory store");
    expect(allowed.lines.join("\n")).not.toMatch(/development workspace|rootKey|adminToken/);
    expect(allowed.lines.join("\n")).toContain("ADMIN_TOKEN is not set");
    expect(await allowed.stop()).toEqual([0, null]);
  });

  it("outside production, on the in-memory store, logs a development workspace's root key that works, and an admin token it made up", async () => {
    const service = startService({ NODE_ENV: "development", ADMIN_TOKEN: "" });
    const port = await service.listening;
    const made = JSON.parse(service.lines.find((line) => line.includes("development workspace"))!);
    expect(made).toMatchObject({
      level: "warn",
      workspaceId: expect.stringMatching(/^ws_/),
      rootKey: expect.stringMatching(/^root_/),
      adminToken: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const baseUrl = `http://127.0.0.1:${port}`;
    const keyspaces = createClient(KeyspaceService, createGrpcTransport({ baseUrl, interceptors: [bearer(made.rootKey)] }));
    expect((await keyspaces.createKeyspace({ keyspace: { name: "first" } })).keyspace!.name).toBe("first");
    const admin = createClient(WorkspaceService, createGrpcTransport({ baseUrl, interceptors: [bearer(made.adminToken)] }));
    expect((await admin.createWorkspace({ workspace: { name: "second" } })).rootKeySecret).toMatch(/^root_/);
    expect(service.lines.join("\n")).not.toContain("ADMIN_TOKEN is not set");
    expect(JSON.parse(service.lines.find((line) => line.includes('"listening"'))!).corsAllowedOrigins).toBe("none: no browser origin may call");
    expect(await service.stop()).toEqual([0, null]);
  });

  it("with an ADMIN_TOKEN of its own, or on MongoDB, logs no made-up admin token, and on MongoDB no development workspace", async () => {
    const given = startService({ NODE_ENV: "development", ADMIN_TOKEN: TEST_ADMIN_TOKEN, CORS_ALLOWED_ORIGINS: "https://app.example.com" });
    await given.listening;
    expect(JSON.parse(given.lines.find((line) => line.includes('"listening"'))!).corsAllowedOrigins).toEqual(["https://app.example.com"]);
    const made = JSON.parse(given.lines.find((line) => line.includes("development workspace"))!);
    expect(made.adminToken).toBeUndefined();
    expect(given.lines.join("\n")).not.toContain(TEST_ADMIN_TOKEN);
    expect(await given.stop()).toEqual([0, null]);
    const onMongo = startService({ NODE_ENV: "development", MONGODB_URI: inject("mongoUri"), MONGODB_DATABASE: "latchkey_process_dev_test" });
    await onMongo.listening;
    expect(onMongo.lines.join("\n")).not.toMatch(/development workspace|rootKey/);
    expect(await onMongo.stop()).toEqual([0, null]);
  });

  it("a port in use stops it at once with one line naming the setting, and exit code 1", async () => {
    const taken = createServer().listen(0, "127.0.0.1");
    await once(taken, "listening");
    const port = (taken.address() as AddressInfo).port;
    try {
      for (const setting of ["PORT", "HTTP1_PORT", "GRPC_PORT", "METRICS_PORT"]) {
        const service = startService({ [setting]: String(port) });
        await expect(service.listening).rejects.toThrow("exited with 1");
        expect(service.stderr()).toBe(
          `latchkey failed to start: ${setting} ${port} on 127.0.0.1 is already in use, perhaps by a latchkey started earlier; stop that one or set ${setting} to another port\n`,
        );
      }
    } finally {
      taken.close();
    }
  });

  it("refuses a bad setting with a one-line reason", async () => {
    const service = startService({ PORT: "http" });
    await expect(service.listening).rejects.toThrow("exited with 1");
    expect(service.stderr()).toBe("latchkey failed to start: PORT must be an integer from 0 to 65535\n");
  });

  it("refuses a guessable ADMIN_TOKEN, and says when none is set that no workspace can be created", async () => {
    const weak = startService({ ADMIN_TOKEN: "secret" });
    await expect(weak.listening).rejects.toThrow("exited with 1");
    expect(weak.stderr()).toMatch(/^latchkey failed to start: ADMIN_TOKEN must be at least 32 characters/);
    const unset = startService({ ADMIN_TOKEN: "", NODE_ENV: "production", ALLOW_IN_MEMORY_STORE: "true" });
    await unset.listening;
    expect(unset.lines.join("\n")).toContain("ADMIN_TOKEN is not set");
    const exited = once(unset.child, "exit");
    unset.child.kill("SIGTERM");
    await exited;
  });

  it("publishes the process's CPU, garbage-collection pauses and event-loop delay on /metrics", async () => {
    const metricsPort = await freePort();
    const service = startService({ ADMIN_TOKEN: TEST_ADMIN_TOKEN, METRICS_PORT: String(metricsPort) });
    await service.listening;
    const scraped = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    await service.stop();
    expect(scraped).toMatch(/^process_cpu_seconds_total \d/m);
    expect(scraped).toMatch(/^nodejs_eventloop_lag_p99_seconds \d/m);
    expect(scraped).toContain("# TYPE nodejs_gc_duration_seconds histogram");
    expect(scraped).toContain("latchkey_rpc_duration_seconds");
  });
});
