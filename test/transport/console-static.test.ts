import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildConsole } from "../../packages/console/build.js";
import { CONSOLE_CONTENT_SECURITY_POLICY } from "../../src/transport/console-static.js";
import { startTestServer, type TestServer } from "../support/server.js";

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A request with the path exactly as written (fetch would normalise `..` away). */
function request(baseUrl: string, path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const url = new URL(baseUrl);
    const sent = http.request({ host: url.hostname, port: url.port, path, method: options.method ?? "GET", headers: options.headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks) }));
    });
    sent.on("error", reject);
    sent.end();
  });
}

function requestHttp2(baseUrl: string, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(baseUrl);
    session.on("error", reject);
    const stream = session.request({ ":path": path });
    const chunks: Buffer[] = [];
    let headers: http2.IncomingHttpHeaders = {};
    stream.on("response", (received) => (headers = received));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => {
      session.close();
      resolve({ status: Number(headers[":status"]), headers, body: Buffer.concat(chunks) });
    });
    stream.end();
  });
}

let consoleDir: string;
let server: TestServer;
let withoutConsole: TestServer;
let built: Awaited<ReturnType<typeof buildConsole>>;

beforeAll(async () => {
  consoleDir = mkdtempSync(join(tmpdir(), "latchkey-console-"));
  built = await buildConsole(consoleDir);
  [server, withoutConsole] = await Promise.all([startTestServer({ consoleDir }), startTestServer()]);
}, 120_000);

afterAll(async () => {
  await Promise.all([server?.stop(), withoutConsole?.stop()]);
  rmSync(consoleDir, { recursive: true, force: true });
});

describe("the console's files on the browser listener", () => {
  it("sends /console to /console/, whose page names its hashed assets, under a CSP allowing no inline script, and is asked for again each time", async () => {
    const redirect = await request(server.http1Url, "/console");
    expect(redirect).toMatchObject({ status: 308, headers: { location: "/console/" } });
    const page = await request(server.http1Url, "/console/");
    expect(page.status).toBe(200);
    expect(page.headers).toMatchObject({
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": CONSOLE_CONTENT_SECURITY_POLICY,
      "cache-control": "no-cache",
      "x-content-type-options": "nosniff",
    });
    expect(CONSOLE_CONTENT_SECURITY_POLICY).toContain("script-src 'self';");
    expect(CONSOLE_CONTENT_SECURITY_POLICY).not.toContain("unsafe-inline");
    const html = page.body.toString();
    expect(html).toContain(`<script type="module" src="assets/${built.script}"></script>`);
    expect(html).not.toMatch(/<script>|<script [^>]*>[^<]/);
    const again = await request(server.http1Url, "/console/", { headers: { "if-none-match": String(page.headers.etag) } });
    expect(again.status).toBe(304);
  });

  it("serves the assets for a year, immutable, gzipped for a browser that accepts it", async () => {
    const script = await request(server.http1Url, `/console/assets/${built.script}`, { headers: { "accept-encoding": "gzip, br" } });
    expect(script.status).toBe(200);
    expect(script.headers).toMatchObject({
      "content-type": "text/javascript; charset=utf-8",
      "cache-control": "public, max-age=31536000, immutable",
      "content-encoding": "gzip",
    });
    expect(gunzipSync(script.body).length).toBeGreaterThan(script.body.length);
    const style = await request(server.http1Url, `/console/assets/${built.style}`);
    expect(style.headers).toMatchObject({ "content-type": "text/css; charset=utf-8" });
    expect(style.headers["content-encoding"]).toBeUndefined();
  });

  it("serves nothing but the built files: other paths, climbing out of the folder, and other methods are refused", async () => {
    for (const path of ["/console/assets/nothing.js", "/console/../package.json", "/console/assets/../../../src/config.ts", "/console/index.html/"]) {
      expect((await request(server.http1Url, path)).status, path).toBe(404);
    }
    expect((await request(server.http1Url, "/console/", { method: "POST" })).status).toBe(405);
  });

  it("serves the console on the HTTP/2 listener too, and leaves the API alone", async () => {
    expect((await requestHttp2(server.url, "/console/")).headers["content-security-policy"]).toBe(CONSOLE_CONTENT_SECURITY_POLICY);
    const health = await fetch(`${server.http1Url}/grpc.health.v1.Health/Check`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(await health.json()).toEqual({ status: "SERVING" });
  });

  it("is not served when the console is off", async () => {
    expect((await request(withoutConsole.http1Url, "/console/")).status).toBe(404);
    expect((await request(withoutConsole.http1Url, "/console/")).headers["content-security-policy"]).toBeUndefined();
  });
});
