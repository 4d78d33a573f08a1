import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { CreditOperation, RefillPeriod } from "../../../gen/latchkey/v1/key_pb.js";
import { VerifyCode } from "../../../gen/latchkey/v1/verify_pb.js";
import { newId } from "../../../src/domain/ids.js";
import { createKeyspace, expectCode, type TestApi, testApi } from "../../support/api.js";

async function keyWithCredits(api: TestApi, remaining?: bigint) {
  const keyspace = await createKeyspace(api);
  return api.keys.createKey({ key: { keyspaceId: keyspace.id, credits: remaining === undefined ? undefined : { remaining } } });
}

const { SET, INCREMENT, DECREMENT } = CreditOperation;

describe("UpdateCredits", () => {
  it("OK: sets, adds and takes (stopping at 0), and verification sees the new balance at once", async () => {
    const api = testApi();
    const { key, secret } = await keyWithCredits(api, 3n);
    const balance = async (operation: CreditOperation, value?: bigint) =>
      (await api.keys.updateCredits({ keyId: key!.id, operation, value })).key!.credits!.remaining;
    expect(await balance(INCREMENT, 7n)).toBe(10n);
    expect(await balance(DECREMENT, 4n)).toBe(6n);
    expect(await balance(DECREMENT, 100n)).toBe(0n);
    expect((await api.verify.verifyKey({ key: secret })).code).toBe(VerifyCode.USAGE_EXCEEDED);
    expect(await balance(SET, 2n)).toBe(2n);
    expect((await api.verify.verifyKey({ key: secret })).creditsRemaining).toBe(1n);
  });

  it("OK: SET without a value removes the credits (unlimited use); SET with one gives credits to a key without them", async () => {
    const api = testApi();
    const { key, secret } = await keyWithCredits(api, 1n);
    expect((await api.keys.updateCredits({ keyId: key!.id, operation: SET })).key!.credits).toBeUndefined();
    for (let i = 0; i < 3; i++) expect((await api.verify.verifyKey({ key: secret })).code).toBe(VerifyCode.VALID);
    expect((await api.keys.updateCredits({ keyId: key!.id, operation: SET, value: 1n })).key!.credits!.remaining).toBe(1n);
    expect((await api.verify.verifyKey({ key: secret })).code).toBe(VerifyCode.VALID);
    expect((await api.verify.verifyKey({ key: secret })).code).toBe(VerifyCode.USAGE_EXCEEDED);
  });

  it("OK: replaces or removes the refill, a new one starting its period now, and leaves it alone otherwise", async () => {
    const api = testApi();
    const { key } = await keyWithCredits(api, 5n);
    const refill = { period: RefillPeriod.INTERVAL, intervalMs: 60_000n, amount: 5n };
    const withRefill = (await api.keys.updateCredits({ keyId: key!.id, operation: INCREMENT, value: 1n, refill })).key!;
    expect(withRefill.credits).toMatchObject({ remaining: 6n, refill: { period: RefillPeriod.INTERVAL, amount: 5n } });
    const kept = (await api.keys.updateCredits({ keyId: key!.id, operation: DECREMENT, value: 1n })).key!;
    expect(kept.credits!.refill?.amount).toBe(5n);
    const removed = (await api.keys.updateCredits({ keyId: key!.id, operation: SET, value: 9n, removeRefill: true })).key!;
    expect(removed.credits).toMatchObject({ remaining: 9n });
    expect(removed.credits!.refill).toBeUndefined();
    const { events } = await api.audit.listAuditEvents({ action: "key.update_credits" });
    expect(events).toHaveLength(3);
  });

  it("INVALID_ARGUMENT: no operation, INCREMENT or DECREMENT without a value of at least 1, a refill with remove_refill or with no credits", async () => {
    const api = testApi();
    const { key } = await keyWithCredits(api, 5n);
    const keyId = key!.id;
    const refill = { period: RefillPeriod.DAILY, amount: 5n };
    await expectCode(api.keys.updateCredits({ keyId }), Code.InvalidArgument, "operation");
    await expectCode(api.keys.updateCredits({ keyId, operation: INCREMENT }), Code.InvalidArgument, "value must be at least 1");
    await expectCode(api.keys.updateCredits({ keyId, operation: DECREMENT, value: 0n }), Code.InvalidArgument, "value must be at least 1");
    await expectCode(api.keys.updateCredits({ keyId, operation: SET, value: -1n }), Code.InvalidArgument, "value");
    await expectCode(
      api.keys.updateCredits({ keyId, operation: SET, value: 1n, refill, removeRefill: true }),
      Code.InvalidArgument,
      "remove_refill cannot be set with refill",
    );
    await expectCode(api.keys.updateCredits({ keyId, operation: SET, refill }), Code.InvalidArgument, "refill needs credits");
    await expectCode(
      api.keys.updateCredits({ keyId, operation: INCREMENT, value: 9007199254740991n }),
      Code.InvalidArgument,
      "value would take the balance past",
    );
    expect((await api.keys.getKey({ id: keyId })).key!.credits!.remaining).toBe(5n);
  });

  it("FAILED_PRECONDITION: adding to a key without credits (NO_CREDITS), and any change to a revoked key", async () => {
    const api = testApi();
    const { key } = await keyWithCredits(api);
    const error = await expectCode(api.keys.updateCredits({ keyId: key!.id, operation: INCREMENT, value: 1n }), Code.FailedPrecondition);
    expect(error.findDetails(ErrorInfoSchema)).toMatchObject([{ reason: "NO_CREDITS" }]);
    await api.keys.revokeKey({ id: key!.id });
    const revoked = await expectCode(api.keys.updateCredits({ keyId: key!.id, operation: SET, value: 1n }), Code.FailedPrecondition);
    expect(revoked.findDetails(ErrorInfoSchema)).toMatchObject([{ reason: "KEY_REVOKED" }]);
  });

  it("NOT_FOUND: no such key", async () => {
    const api = testApi();
    const keyId = newId("key", Date.now());
    await expectCode(api.keys.updateCredits({ keyId, operation: SET, value: 1n }), Code.NotFound, `key ${keyId} not found`);
  });
});
