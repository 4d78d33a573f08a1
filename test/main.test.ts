import { once } from "node:events";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { describe, expect, inject, it } from "vitest";
import { KeyspaceService } from "../gen/latchkey/v1/keyspace_pb.js";
import { WorkspaceService } from "../gen/latchkey/v1/workspace_pb.js";
import { bearer, TEST_ADMIN_TOKEN } from "./support/auth.js";
import { startService } from "./support/service-process.js";

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

  it("in production, refuses to start on the in-memory store unless asked explicitly", async () => {
    const refused = startService({ NODE_ENV: "production" });
    await expect(refused.listening).rejects.toThrow("exited with 1");
    expect(refused.stderr()).toMatch(/^latchkey failed to start: MONGODB_URI is not set and NODE_ENV is production/);
    const allowed = startService({ NODE_ENV: "production", ALLOW_IN_MEMORY_STORE: "true" });
    await allowed.listening;
    expect(allowed.lines.join("\n")).toContain("using the embedded in-memory store");
    expect(await allowed.stop()).toEqual([0, null]);
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
    const unset = startService({ ADMIN_TOKEN: "" });
    await unset.listening;
    expect(unset.lines.join("\n")).toContain("ADMIN_TOKEN is not set");
    const exited = once(unset.child, "exit");
    unset.child.kill("SIGTERM");
    await exited;
  });
});
