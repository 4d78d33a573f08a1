import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { DeleteKeyRequestSchema, GetKeyRequestSchema, KeyService, UpdateKeyRequestSchema } from "../../gen/latchkey/v1/key_pb.js";
import { notFound } from "../../src/domain/errors.js";
import { newId } from "../../src/domain/ids.js";
import type { Logger } from "../../src/observability/log.js";
import { AuditLog } from "../../src/pipeline/audit-log.js";
import { Pipeline } from "../../src/pipeline/compose.js";
import type { CallContext } from "../../src/pipeline/context.js";
import type { CallObserver } from "../../src/pipeline/observe.js";
import { FailedAfterChanges, mutation, read } from "../../src/pipeline/procedures.js";
import { RequestValidator } from "../../src/pipeline/validate.js";
import { MemoryStore } from "../../src/store/memory.js";
import type { KeyChangeTarget } from "../../src/store/store.js";
import { callerHolding, fakeContext } from "./fake-context.js";

const silent: Logger = { info: () => {}, warn: () => {}, error: () => {} };

/** What a tracer would be: one more observer, told each call's procedure, request id and end. */
function fakeTracer() {
  const spans: { procedure: string; requestId: string; code?: string }[] = [];
  const tracer: CallObserver = {
    observe: (procedure) => (requestId) => {
      const span: { procedure: string; requestId: string; code?: string } = { procedure, requestId };
      spans.push(span);
      return (code) => (span.code = code);
    },
  };
  return { tracer, spans };
}

function pipelineWith(observers: CallObserver[], published: KeyChangeTarget[]) {
  const store = new MemoryStore();
  const now = () => Date.UTC(2026, 0, 15);
  const caller = callerHolding(["key.read", "key.update"]);
  return new Pipeline({
    credentials: { rootKey: () => caller, admin: () => caller },
    store,
    now,
    audit: new AuditLog(store, now, silent),
    validator: new RequestValidator(),
    changes: { publish: async (change) => void published.push(change) },
    observers,
    log: silent,
  });
}

type Method = (request: unknown, context: CallContext) => unknown;

describe("the composed pipeline", () => {
  const keyId = newId("key", Date.UTC(2026, 0, 1));

  it("a new observer (a tracer) sees every call begin with its request id and end with its code, with nothing else changed", async () => {
    const { tracer, spans } = fakeTracer();
    const service = pipelineWith([tracer], []).api(KeyService, {
      getKey: read("key.read", () => ({})),
      deleteKey: read("key.delete", () => ({})),
    } as never) as unknown as Record<string, Method>;
    await service.getKey!(create(GetKeyRequestSchema, { id: keyId }), fakeContext({ "x-request-id": "trace-1" }));
    const denied = await Promise.resolve(service.deleteKey!({ id: keyId }, fakeContext({ "x-request-id": "trace-2" }))).catch((error: unknown) => error);
    expect(denied).toBeInstanceOf(ConnectError);
    expect((denied as ConnectError).code).toBe(Code.PermissionDenied);
    expect(spans).toEqual([
      { procedure: "latchkey.v1.KeyService/GetKey", requestId: "trace-1", code: "OK" },
      { procedure: "latchkey.v1.KeyService/DeleteKey", requestId: "trace-2", code: "PERMISSION_DENIED" },
    ]);
  });

  it("publishes the changes a mutation returns before its answer, and those of a mutation that failed after changing something", async () => {
    const published: KeyChangeTarget[] = [];
    const change = { keyId, workspaceId: "ws_test", hash: "h" };
    const service = pipelineWith([], published).api(KeyService, {
      updateKey: mutation("key.update", "key.update", () => ({ response: {}, audit: { targets: [keyId] }, changes: [change] })),
      deleteKey: mutation("key.update", "key.delete", () => {
        throw new FailedAfterChanges(notFound("key", keyId), [{ workspaceId: "ws_test" }]);
      }),
    } as never) as unknown as Record<string, Method>;
    await service.updateKey!(create(UpdateKeyRequestSchema, { key: { id: keyId, name: "renamed" }, updateMask: { paths: ["name"] } }), fakeContext());
    const failed = await Promise.resolve(service.deleteKey!(create(DeleteKeyRequestSchema, { id: keyId }), fakeContext())).catch((error: unknown) => error);
    expect((failed as ConnectError).code).toBe(Code.NotFound);
    expect(published).toEqual([change, { workspaceId: "ws_test" }]);
  });
});
