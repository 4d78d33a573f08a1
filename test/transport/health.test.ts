import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/health/v1/health_pb.js";
import { HealthState } from "../../src/transport/health.js";

describe("HealthState", () => {
  it("answers NOT_SERVING while the store fails, and for good once shutdown begins", () => {
    const health = new HealthState([]);
    health.storeAnswered(false);
    expect(health.current).toBe(ServingStatus.NOT_SERVING);
    health.storeAnswered(true);
    expect(health.current).toBe(ServingStatus.SERVING);
    health.close();
    health.storeAnswered(true);
    expect(health.current).toBe(ServingStatus.NOT_SERVING);
  });

  it("holds at most its cap of Watch streams open; one that ends frees its place", async () => {
    const health = new HealthState([], 2);
    const callers = [new AbortController(), new AbortController()];
    const watches = callers.map((caller) => health.watch(caller.signal));
    for (const watch of watches) expect((await watch.next()).value).toBe(ServingStatus.SERVING);
    const refused = await health
      .watch(new AbortController().signal)
      .next()
      .then(
        () => undefined,
        (error: unknown) => ConnectError.from(error),
      );
    expect(refused?.code).toBe(Code.ResourceExhausted);
    const changed = watches[1]!.next();
    health.storeAnswered(false);
    expect((await changed).value).toBe(ServingStatus.NOT_SERVING);
    callers[0]!.abort();
    expect((await watches[0]!.next()).done).toBe(true);
    const another = health.watch(new AbortController().signal);
    expect((await another.next()).value).toBe(ServingStatus.NOT_SERVING);
    health.close();
  });
});
