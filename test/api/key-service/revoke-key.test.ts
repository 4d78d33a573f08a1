import { Code } from "@connectrpc/connect";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { KeyStatus } from "../../../gen/latchkey/v1/key_pb.js";
import { newId } from "../../../src/domain/ids.js";
import { createKeyspace, expectCode, testApi } from "../../support/api.js";

describe("RevokeKey", () => {
  it("OK: records when, who and why; the key stays readable and listable", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const { key } = await api.keys.createKey({ key: { keyspaceId: keyspace.id } });
    api.clock.now += 1000;
    const { key: revoked } = await api.keys.revokeKey({ id: key!.id, reason: "leaked in a log", revokedBy: "alice" });
    expect(revoked).toMatchObject({ status: KeyStatus.REVOKED, revokedBy: "alice", revocationReason: "leaked in a log" });
    expect(timestampMs(revoked!.revokedAt!)).toBe(api.clock.now);
    expect((await api.keys.getKey({ id: key!.id })).key).toEqual(revoked);
    const listed = await api.keys.listKeys({ keyspaceId: keyspace.id, status: KeyStatus.REVOKED });
    expect(listed.keys.map((k) => k.id)).toEqual([key!.id]);
  });

  it("FAILED_PRECONDITION: already revoked, and the first record stands", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const { key } = await api.keys.createKey({ key: { keyspaceId: keyspace.id } });
    await api.keys.revokeKey({ id: key!.id, revokedBy: "alice" });
    await expectCode(api.keys.revokeKey({ id: key!.id, revokedBy: "mallory" }), Code.FailedPrecondition, `key ${key!.id} is revoked`);
    expect((await api.keys.getKey({ id: key!.id })).key!.revokedBy).toBe("alice");
  });

  it("INVALID_ARGUMENT: bad id or overlong reason", async () => {
    const api = testApi();
    await expectCode(api.keys.revokeKey({ id: "" }), Code.InvalidArgument, "id must not be empty");
    await expectCode(api.keys.revokeKey({ id: newId("key", 1), reason: "x".repeat(513) }), Code.InvalidArgument, "reason");
    await expectCode(api.keys.revokeKey({ id: newId("key", 1), revokedBy: "x".repeat(257) }), Code.InvalidArgument, "revoked_by");
  });

  it("NOT_FOUND: unknown or deleted key", async () => {
    const api = testApi();
    await expectCode(api.keys.revokeKey({ id: newId("key", Date.now()) }), Code.NotFound);
    const keyspace = await createKeyspace(api);
    const { key } = await api.keys.createKey({ key: { keyspaceId: keyspace.id } });
    await api.keys.deleteKey({ id: key!.id });
    await expectCode(api.keys.revokeKey({ id: key!.id }), Code.NotFound);
  });
});
