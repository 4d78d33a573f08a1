import { Code, ConnectError, createClient, type HandlerContext } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/health/v1/health_pb.js";
import { addToGrpcJsServer } from "../../src/transport/grpc-js-adapter.js";

let server: grpc.Server | undefined;
afterEach(() => server?.forceShutdown());

/** A grpc-js server carrying one Health implementation through the adapter. */
async function serve(check: (context: HandlerContext) => Promise<void>) {
  server = new grpc.Server();
  const implementation = {
    async check(_: unknown, context: HandlerContext) {
      await check(context);
      context.responseHeader.set("x-seen", "yes");
      return { status: HealthCheckResponse_ServingStatus.SERVING };
    },
    async *watch() {},
    list: () => ({ statuses: {} }),
  };
  addToGrpcJsServer(server, Health, implementation, { shutdownSignal: new AbortController().signal });
  const port = await new Promise<number>((resolve, reject) =>
    server!.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return createClient(Health, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }));
}

describe("grpc-js adapter", () => {
  it("hands the handler the client's deadline, as time left and as a signal that aborts when it passes", async () => {
    let seenTimeout: number | undefined;
    let aborted = false;
    const client = await serve(async (context) => {
      seenTimeout = context.timeoutMs();
      await new Promise((resolve) => context.signal.addEventListener("abort", resolve));
      aborted = true;
    });
    const error = await client.check({}, { timeoutMs: 300 }).catch((caught: unknown) => caught);
    expect(ConnectError.from(error).code).toBe(Code.DeadlineExceeded);
    expect(seenTimeout).toBeGreaterThan(100);
    expect(seenTimeout).toBeLessThanOrEqual(300);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(aborted).toBe(true);
  });

  it("reports no deadline when the client set none, and sends the response headers a handler set", async () => {
    let seenTimeout: number | undefined = 0;
    const client = await serve(async (context) => {
      seenTimeout = context.timeoutMs();
    });
    let header: Headers | undefined;
    await client.check({}, { onHeader: (received) => (header = received) });
    expect(seenTimeout).toBeUndefined();
    expect(header?.get("x-seen")).toBe("yes");
  });
});
