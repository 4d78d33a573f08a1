import { describe, expect, it } from "vitest";
import { notFound } from "../../src/domain/errors.js";
import { afterChanges, FailedAfterChanges } from "../../src/pipeline/procedures.js";
import { publishChanges, publishChangesOfFailure } from "../../src/pipeline/publish-changes.js";
import type { KeyChangeTarget } from "../../src/store/store.js";

function recordingPublisher() {
  const published: KeyChangeTarget[] = [];
  return { publisher: { publish: async (change: KeyChangeTarget) => void published.push(change) }, published };
}

describe("publish changes", () => {
  it("publishes what a handler returned, in its order", async () => {
    const { publisher, published } = recordingPublisher();
    await publishChanges(publisher, [
      { keyId: "key_1", workspaceId: "ws_1", hash: "h1" },
      { workspaceId: "ws_1", externalId: "cust" },
    ]);
    await publishChanges(publisher, undefined);
    expect(published).toEqual([
      { keyId: "key_1", workspaceId: "ws_1", hash: "h1" },
      { workspaceId: "ws_1", externalId: "cust" },
    ]);
  });

  it("a failure after a change publishes the change and answers the failure; any other failure publishes nothing", async () => {
    const { publisher, published } = recordingPublisher();
    const failure = notFound("keyspace", "ks_1");
    expect(await publishChangesOfFailure(publisher, new FailedAfterChanges(failure, [{ rootKeyHash: "r1" }]))).toBe(failure);
    const other = new Error("store down");
    expect(await publishChangesOfFailure(publisher, other)).toBe(other);
    expect(published).toEqual([{ rootKeyHash: "r1" }]);
  });

  it("afterChanges carries the changes made so far out of a failing rest, once, and leaves a failure before any change as it is", async () => {
    const failure = new Error("refused");
    const carried = await afterChanges([{ rootKeyHash: "r1" }], () => afterChanges([{ rootKeyHash: "r1" }], () => Promise.reject(failure))).catch(
      (error: unknown) => error,
    );
    expect(carried).toBeInstanceOf(FailedAfterChanges);
    expect((carried as FailedAfterChanges).failure).toBe(failure);
    expect(await afterChanges([], () => Promise.reject(failure)).catch((error: unknown) => error)).toBe(failure);
  });
});
