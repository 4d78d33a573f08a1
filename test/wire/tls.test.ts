import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyspaceService } from "../../gen/latchkey/v1/keyspace_pb.js";
import { startTestServer, type TestServer } from "../support/server.js";

/** With a certificate, one port serves gRPC over HTTP/2 and Connect JSON over HTTP/1.1, as browsers need. */
let dir: string;
let server: TestServer;
let ca: Buffer;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "latchkey-tls-"));
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  await promisify(execFile)("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=IP:127.0.0.1",
    "-keyout",
    keyFile,
    "-out",
    certFile,
  ]);
  ca = await readFile(certFile);
  server = await startTestServer({ tls: { certFile, keyFile } });
});
afterAll(async () => {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("TLS on one port", () => {
  it("serves gRPC over HTTP/2", async () => {
    const client = createClient(
      KeyspaceService,
      createGrpcTransport({ baseUrl: `https://127.0.0.1:${server.port}`, nodeOptions: { ca }, interceptors: [server.auth] }),
    );
    expect((await client.createKeyspace({ keyspace: { name: "tls" } })).keyspace!.name).toBe("tls");
  });

  it("serves Connect JSON over HTTP/1.1", async () => {
    const body = await new Promise<{ status: number; alpn: string | false | null; text: string }>((resolve, reject) => {
      const request = https.request(
        `https://127.0.0.1:${server.port}/latchkey.v1.KeyspaceService/CreateKeyspace`,
        { method: "POST", ca, headers: { "content-type": "application/json", authorization: `Bearer ${server.rootKey}` } },
        (response) => {
          const alpn = (response.socket as TLSSocket).alpnProtocol;
          let text = "";
          response.on("data", (chunk) => (text += chunk));
          response.on("end", () => resolve({ status: response.statusCode!, alpn, text }));
        },
      );
      request.on("error", reject);
      request.end(JSON.stringify({ keyspace: { name: "over http1" } }));
    });
    expect(body.status).toBe(200);
    expect(body.alpn).not.toBe("h2");
    expect(JSON.parse(body.text).keyspace.name).toBe("over http1");
  });
});

describe("TLS on the HTTP/1.1 listener", () => {
  it("serves Connect over TLS, and no cleartext request at all", async () => {
    const { port } = new URL(server.http1Url);
    const client = createClient(
      KeyspaceService,
      createConnectTransport({ baseUrl: `https://127.0.0.1:${port}`, httpVersion: "1.1", nodeOptions: { ca }, interceptors: [server.auth] }),
    );
    expect((await client.createKeyspace({ keyspace: { name: "tls http1" } })).keyspace!.name).toBe("tls http1");
    const cleartext = await fetch(`http://127.0.0.1:${port}/latchkey.v1.KeyspaceService/ListKeyspaces`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${server.rootKey}` },
      body: "{}",
    }).then(
      (response) => response.status,
      () => "refused",
    );
    expect(cleartext).toBe("refused");
  });
});
