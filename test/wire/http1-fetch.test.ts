import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";

/** What a browser does: Connect's JSON protocol over HTTP/1.1, with CORS. Plain fetch, no client library. */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ maxRequestBytes: 64 * 1024 });
});
afterAll(() => server.stop());

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${server.http1Url}/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${server.rootKey}`, ...headers },
    body: JSON.stringify(body),
  });

describe("Connect JSON over HTTP/1.1 with fetch", () => {
  it("creates a keyspace and a key", async () => {
    const keyspace = await post("latchkey.v1.KeyspaceService/CreateKeyspace", { keyspace: { name: "web" } });
    expect(keyspace.status).toBe(200);
    const { keyspace: created } = await keyspace.json();
    const key = await post("latchkey.v1.KeyService/CreateKey", {
      key: {
        keyspaceId: created.id,
        expiresAt: "2099-01-01T00:00:00Z",
        credits: { remaining: "3" },
        rateLimits: [{ name: "rps", limit: "10", durationMs: "1000" }],
      },
    });
    expect(key.status).toBe(200);
    const body = await key.json();
    expect(body.secret).toMatch(/^lk_/);
    expect(body.key).toMatchObject({ status: "KEY_STATUS_ACTIVE", expiresAt: "2099-01-01T00:00:00Z", credits: { remaining: "3" } });
  });

  it("answers errors as Connect JSON with the code, message, details and request id", async () => {
    const response = await post("latchkey.v1.KeyService/GetKey", { id: "nope" });
    expect(response.status).toBe(400);
    expect(response.headers.get("x-request-id")).toMatch(/^[A-Za-z0-9]{9,}$/);
    const body = await response.json();
    expect(body).toMatchObject({ code: "invalid_argument", message: "id is not a key id" });
    expect(body.details.map((detail: { type: string }) => detail.type)).toEqual(["google.rpc.ErrorInfo", "google.rpc.BadRequest"]);
    const unknownField = await post("latchkey.v1.KeyService/GetKey", { idd: "x" });
    expect(unknownField.status).toBe(400);
  });

  it("refuses requests over the size cap", async () => {
    const response = await post("latchkey.v1.KeyspaceService/CreateKeyspace", { keyspace: { name: "x".repeat(100 * 1024) } });
    expect((await response.json()).code).toBe("resource_exhausted");
  });

  it("answers CORS preflights for allowed origins only", async () => {
    const preflight = (origin: string) =>
      fetch(`${server.http1Url}/latchkey.v1.KeyService/GetKey`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type,authorization" },
      });
    const allowed = await preflight("https://app.example.com");
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(allowed.headers.get("access-control-allow-headers")).toMatch(/Authorization/);
    const refused = await preflight("https://evil.example.net");
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("lets scripts of an allowed origin read the request id, and logs calls from other origins at most once a minute", async () => {
    const call = (origin: string) =>
      fetch(`${server.http1Url}/grpc.health.v1.Health/Check`, { method: "POST", headers: { origin, "content-type": "application/json" }, body: "{}" });
    const allowed = await call("https://app.example.com");
    expect(allowed.headers.get("access-control-expose-headers")!.split(", ")).toContain("x-request-id");
    expect(allowed.headers.get("x-request-id")).toMatch(/^[A-Za-z0-9]{9,}$/);
    const refusals = () => server.logs.filter((line) => line.includes("outside CORS_ALLOWED_ORIGINS")).map((line) => JSON.parse(line));
    for (let attempt = 0; attempt < 3; attempt++) expect((await call("https://evil.example.net")).headers.get("access-control-allow-origin")).toBeNull();
    // Within a minute of this server's first refused call (here, or the preflight test's above): one line.
    expect(refusals()).toEqual([
      expect.objectContaining({ level: "warn", origin: "https://evil.example.net", refusedCalls: 1, allowedOrigins: ["https://app.example.com"] }),
    ]);
  });
});
