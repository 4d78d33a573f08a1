import http2 from "node:http2";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_CONCURRENT_STREAMS } from "../../src/server.js";
import { startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

describe("HTTP/2 connection limits", () => {
  it.each([
    ["the Connect router's HTTP/2 port", () => server.url],
    ["the native grpc-js port", () => server.grpcUrl],
  ])("%s announces a cap on concurrent streams in its SETTINGS", async (_, url) => {
    const session = http2.connect(url());
    try {
      const [settings] = (await once(session, "remoteSettings")) as [http2.Settings];
      expect(settings.maxConcurrentStreams).toBe(MAX_CONCURRENT_STREAMS);
    } finally {
      session.close();
    }
  });
});
