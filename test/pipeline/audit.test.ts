import { describe, expect, it } from "vitest";
import { GetKeyRequestSchema, UpdateKeyRequestSchema } from "../../gen/latchkey/v1/key_pb.js";
import { create } from "@bufbuild/protobuf";
import { notFound } from "../../src/domain/errors.js";
import { newId } from "../../src/domain/ids.js";
import { auditCall, requestIds } from "../../src/pipeline/audit.js";
import type { AuditEntry, AuditLog } from "../../src/pipeline/audit-log.js";
import { PEER_ADDRESS } from "../../src/pipeline/context.js";
import { callerHolding, fakeContext } from "./fake-context.js";

function fakeLog() {
  const written: { entry: AuditEntry; failed: boolean }[] = [];
  const log = {
    record: async (entry: AuditEntry) => void written.push({ entry, failed: false }),
    recordFailure: async (entry: AuditEntry) => void written.push({ entry, failed: true }),
  } as unknown as AuditLog;
  return { log, written };
}

describe("audit", () => {
  it("records the caller, action, targets, peer, the user agent cut to 256 characters, and the outcome", async () => {
    const { log, written } = fakeLog();
    const context = fakeContext({ "user-agent": "x".repeat(300) });
    context.values.set(PEER_ADDRESS, "10.0.0.7");
    await auditCall(log, context, callerHolding(["key.update"]), "key.update", { targets: ["key_1"], summary: { fields: ["name"] } });
    await auditCall(log, context, callerHolding(["key.update"]), "key.update", { targets: ["key_2"] }, notFound("key", "key_2"));
    expect(written).toEqual([
      {
        failed: false,
        entry: {
          workspaceId: "ws_test",
          actor: "rk_test",
          action: "key.update",
          targetIds: ["key_1"],
          summary: { fields: ["name"] },
          peerAddress: "10.0.0.7",
          userAgent: "x".repeat(256),
          outcome: "ok",
        },
      },
      {
        failed: true,
        entry: {
          workspaceId: "ws_test",
          actor: "rk_test",
          action: "key.update",
          targetIds: ["key_2"],
          summary: {},
          peerAddress: "10.0.0.7",
          userAgent: "x".repeat(256),
          outcome: "not_found",
        },
      },
    ]);
  });

  it("goes to the workspace the note names; the operator's calls outside any workspace are not recorded", async () => {
    const { log, written } = fakeLog();
    await auditCall(log, fakeContext(), callerHolding([], ""), "workspace.create", { targets: [] });
    await auditCall(log, fakeContext(), callerHolding([], ""), "workspace.create", { targets: ["ws_new"], workspaceId: "ws_new" });
    expect(written.map(({ entry }) => entry.workspaceId)).toEqual(["ws_new"]);
  });

  it("a failed mutation targets the ids its request names, one message down", () => {
    const keyId = newId("key", Date.UTC(2026, 0, 1));
    expect(requestIds(GetKeyRequestSchema, create(GetKeyRequestSchema, { id: keyId }))).toEqual([keyId]);
    expect(requestIds(UpdateKeyRequestSchema, create(UpdateKeyRequestSchema, { key: { id: keyId, name: "not an id" } }))).toEqual([keyId]);
  });
});
