import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { VerifyCode } from "../../../gen/latchkey/v1/verify_pb.js";
import { newId } from "../../../src/domain/ids.js";
import { createKeyspace, expectCode, type TestApi, testApi } from "../../support/api.js";

async function issue(api: TestApi, key: object = {}) {
  const keyspace = await createKeyspace(api);
  return api.keys.createKey({ key: { keyspaceId: keyspace.id, ...key } });
}

const code = async (api: TestApi, secret: string) => (await api.verify.verifyKey({ key: secret })).code;

describe("RerollKey", () => {
  it("OK: a new secret for the same key; the old one works through the grace period, then answers EXPIRED", async () => {
    const api = testApi();
    const created = await issue(api, { name: "ci", permissions: ["documents.read"], credits: { remaining: 10n } });
    const rerolled = await api.keys.rerollKey({ id: created.key!.id, gracePeriodMs: 60_000n });
    expect(rerolled.secret).not.toBe(created.secret);
    expect(rerolled.key).toMatchObject({
      id: created.key!.id,
      name: "ci",
      permissions: ["documents.read"],
      start: rerolled.secret.slice(0, rerolled.key!.start.length),
    });
    expect(rerolled.key!.previousSecret).toMatchObject({ start: created.key!.start });

    const verified = await api.verify.verifyKey({ key: rerolled.secret, permissionQuery: "documents.read" });
    expect(verified).toMatchObject({ code: VerifyCode.VALID, keyId: created.key!.id, creditsRemaining: 9n });
    expect(await api.verify.verifyKey({ key: created.secret })).toMatchObject({ code: VerifyCode.VALID, creditsRemaining: 8n });

    api.clock.now += 60_000;
    expect(await code(api, created.secret)).toBe(VerifyCode.EXPIRED);
    expect(await code(api, rerolled.secret)).toBe(VerifyCode.VALID);
    const { key } = await api.keys.getKey({ id: created.key!.id });
    expect(timestampMs(key!.previousSecret!.expiresAt!), "the grace period ends 60 s after the reroll").toBe(api.clock.now);
    expect(key!.credits!.remaining).toBe(7n);
    const { events } = await api.audit.listAuditEvents({ action: "key.reroll" });
    expect(events).toHaveLength(1);
    expect(JSON.stringify(events[0]!.summary)).not.toContain(rerolled.secret);
  });

  it("OK: a grace period of 0 ends the old secret at once, and WhoAmI still names the key for it", async () => {
    const api = testApi();
    const created = await issue(api);
    const rerolled = await api.keys.rerollKey({ id: created.key!.id });
    expect(await code(api, created.secret)).toBe(VerifyCode.EXPIRED);
    expect(await code(api, rerolled.secret)).toBe(VerifyCode.VALID);
    expect((await api.keys.whoAmI({ key: created.secret })).key!.id).toBe(created.key!.id);
  });

  it("OK: a second reroll forgets the first secret", async () => {
    const api = testApi();
    const created = await issue(api);
    const first = await api.keys.rerollKey({ id: created.key!.id, gracePeriodMs: 60_000n });
    const second = await api.keys.rerollKey({ id: created.key!.id, gracePeriodMs: 60_000n });
    expect(await code(api, created.secret)).toBe(VerifyCode.NOT_FOUND);
    expect(await code(api, first.secret)).toBe(VerifyCode.VALID);
    expect(await code(api, second.secret)).toBe(VerifyCode.VALID);
  });

  it("INVALID_ARGUMENT: a grace period below 0 or past 30 days, or a malformed id", async () => {
    const api = testApi();
    const { key } = await issue(api);
    await expectCode(api.keys.rerollKey({ id: key!.id, gracePeriodMs: -1n }), Code.InvalidArgument, "grace_period_ms");
    await expectCode(api.keys.rerollKey({ id: key!.id, gracePeriodMs: 2_592_000_001n }), Code.InvalidArgument, "grace_period_ms");
    await expectCode(api.keys.rerollKey({ id: "nope" }), Code.InvalidArgument, "id");
  });

  it("FAILED_PRECONDITION: a revoked key (KEY_REVOKED)", async () => {
    const api = testApi();
    const { key } = await issue(api);
    await api.keys.revokeKey({ id: key!.id });
    const error = await expectCode(api.keys.rerollKey({ id: key!.id }), Code.FailedPrecondition);
    expect(error.findDetails(ErrorInfoSchema)).toMatchObject([{ reason: "KEY_REVOKED" }]);
  });

  it("NOT_FOUND: no such key, or a deleted one", async () => {
    const api = testApi();
    const id = newId("key", Date.now());
    await expectCode(api.keys.rerollKey({ id }), Code.NotFound, `key ${id} not found`);
    const { key } = await issue(api);
    await api.keys.deleteKey({ id: key!.id });
    await expectCode(api.keys.rerollKey({ id: key!.id }), Code.NotFound);
  });
});
