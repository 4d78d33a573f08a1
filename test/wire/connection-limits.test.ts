import { once } from "node:events";
import net from "node:net";
import http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_CONCURRENT_STREAMS } from "../../src/transport/connections.js";
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

describe("connection count and age", () => {
  let limited: TestServer;
  beforeAll(async () => {
    limited = await startTestServer({ connectionLimits: { maxConnections: 2, maxAgeMs: 300 } });
  });
  afterAll(() => limited.stop());

  it.each([
    ["the Connect router's HTTP/2 port", () => limited.url],
    ["the native grpc-js port", () => limited.grpcUrl],
  ])("%s asks a connection past its age to go away", async (_, url) => {
    const session = http2.connect(url());
    session.on("error", () => {});
    try {
      const started = Date.now();
      await once(session, "goaway");
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    } finally {
      session.destroy();
    }
  });

  it("the Connect listeners refuse connections beyond their cap", async () => {
    const { port } = new URL(limited.http1Url);
    const sockets = await Promise.all(
      [1, 2, 3].map(
        () =>
          new Promise<net.Socket>((resolve) => {
            const socket = net.connect(Number(port), "127.0.0.1", () => resolve(socket));
            socket.on("error", () => {});
          }),
      ),
    );
    try {
      const closed = await Promise.race([once(sockets[2]!, "close").then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 2000))]);
      expect(closed).toBe(true);
      expect(sockets[0]!.destroyed).toBe(false);
    } finally {
      for (const socket of sockets) socket.destroy();
    }
  });
});
