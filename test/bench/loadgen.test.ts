import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyService } from "../../gen/latchkey/v1/key_pb.js";
import { KeyspaceService } from "../../gen/latchkey/v1/keyspace_pb.js";
import { VerifyKeyRequestSchema } from "../../gen/latchkey/v1/verify_pb.js";
import { WorkspaceService } from "../../gen/latchkey/v1/workspace_pb.js";
import { bearer, TEST_ADMIN_TOKEN } from "../support/auth.js";
import { freePort } from "../support/free-port.js";
import { GO_INSTALL_TIMEOUT_MS } from "../support/go-tools.js";
import { type ServiceProcess, startService } from "../support/service-process.js";
import { loadGenerator } from "./bench-support.js";

const PATH = "/latchkey.v1.VerifyService/VerifyKey";

/** Bodies as the bench writes them: each a gRPC length-prefixed frame, one after another. */
function framesFile(bodies: Uint8Array[]): string {
  const file = join(mkdtempSync(join(tmpdir(), "loadgen-test-")), "frames.bin");
  writeFileSync(
    file,
    Buffer.concat(
      bodies.map((body) => {
        const frame = Buffer.alloc(5 + body.length);
        frame.writeUInt32BE(body.length, 1);
        frame.set(body, 5);
        return frame;
      }),
    ),
  );
  return file;
}

interface Result {
  rps: number;
  p50: number;
  p99: number;
  failed: number;
  cpuSeconds: number;
}

describe("the bench's load generator", () => {
  let service: ServiceProcess;
  let url: string;
  let rootKey: string;
  let frames: string;
  let generator: string;

  beforeAll(async () => {
    generator = loadGenerator();
    const grpcPort = await freePort();
    service = startService({ ADMIN_TOKEN: TEST_ADMIN_TOKEN, GRPC_PORT: String(grpcPort), ACCESS_LOG: "false" });
    await service.listening;
    url = `http://127.0.0.1:${grpcPort}`;
    rootKey = (
      await createClient(WorkspaceService, createGrpcTransport({ baseUrl: url, interceptors: [bearer(TEST_ADMIN_TOKEN)] })).createWorkspace({
        workspace: { name: "loadgen" },
      })
    ).rootKeySecret;
    const transport = createGrpcTransport({ baseUrl: url, interceptors: [bearer(rootKey)] });
    const { keyspace } = await createClient(KeyspaceService, transport).createKeyspace({ keyspace: { name: "loadgen" } });
    const bodies = [];
    for (let i = 0; i < 3; i++) {
      const { secret } = await createClient(KeyService, transport).createKey({ key: { keyspaceId: keyspace!.id } });
      bodies.push(toBinary(VerifyKeyRequestSchema, create(VerifyKeyRequestSchema, { key: secret })));
    }
    frames = framesFile(bodies);
  }, GO_INSTALL_TIMEOUT_MS);

  afterAll(() => service?.stop());

  const run = (job: Record<string, unknown>): Result =>
    JSON.parse(
      execFileSync(generator, [], {
        input: JSON.stringify({ urls: [url], path: PATH, rootKey, framesFile: frames, connections: 2, streams: 2, seconds: 1, warmupSeconds: 0.2, ...job }),
        encoding: "utf8",
      }),
    );

  it("counts answered requests with their latencies and its own CPU, closed loop", () => {
    const result = run({});
    expect(result.failed).toBe(0);
    expect(result.rps).toBeGreaterThan(0);
    expect(result.p99).toBeGreaterThanOrEqual(result.p50);
    expect(result.p50).toBeGreaterThan(0);
    expect(result.cpuSeconds).toBeGreaterThan(0);
  });

  it("counts a call answered with a grpc-status other than 0 as failed", () => {
    const result = run({ rootKey: "not-a-root-key" });
    expect(result.rps).toBeGreaterThan(0);
    expect(result.failed).toBe(Math.round(result.rps));
  });

  it("paced, sends the requests due in the measured time whatever the answers, and writes a line per second to the timeline", () => {
    const timelineFile = join(mkdtempSync(join(tmpdir(), "loadgen-timeline-")), "timeline.txt");
    const result = run({ rate: 200, seconds: 2, timelineFile });
    expect(result.failed).toBe(0);
    // Requests due in the last moments may still be in flight when the measured time ends, for as
    // long as a loaded machine takes to answer them.
    expect(result.rps).toBeGreaterThan(100);
    expect(result.rps).toBeLessThanOrEqual(200);
    const lines = readFileSync(timelineFile, "utf8").trim().split("\n");
    expect(lines[0]).toBe(`--- ${PATH} 200 req/s`);
    expect(lines.slice(1).map((line) => line.split(" ")[0])).toEqual(["0", "1"]);
    expect(lines[1]).toMatch(/^0 n=\d+ p50=[\d.]+ p99=[\d.]+ max=[\d.]+$/);
  });
});
