import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { VerifyCode } from "../../../gen/latchkey/v1/verify_pb.js";
import { createKeyspace, expectCode, testApi } from "../../support/api.js";

describe("VerifyKeys", () => {
  it("answers each request in order and on its own", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const good = await api.keys.createKey({ key: { keyspaceId: keyspace.id, permissions: ["a"] } });
    const limited = await api.keys.createKey({ key: { keyspaceId: keyspace.id, credits: { remaining: 1n } } });
    const { results } = await api.verify.verifyKeys({
      requests: [
        { key: good.secret },
        { key: "garbage" },
        { key: good.secret, permissionQuery: "b" },
        { key: limited.secret },
        { key: limited.secret },
        { key: good.secret, permissionQuery: "a" },
      ],
    });
    expect(results.map((result) => result.code)).toEqual([
      VerifyCode.VALID,
      VerifyCode.NOT_FOUND,
      VerifyCode.INSUFFICIENT_PERMISSIONS,
      expect.any(Number),
      expect.any(Number),
      VerifyCode.VALID,
    ]);
    expect([results[3]!.code, results[4]!.code].sort()).toEqual([VerifyCode.VALID, VerifyCode.USAGE_EXCEEDED]);
    expect(results[0]!.keyId).toBe(good.key!.id);
  });

  it("answers an empty batch with no results", async () => {
    expect((await testApi().verify.verifyKeys({})).results).toEqual([]);
  });

  it("INVALID_ARGUMENT: names the malformed request, and refuses batches over 1000", async () => {
    const api = testApi();
    await expectCode(
      api.verify.verifyKeys({ requests: [{ key: "a" }, { key: "b", permissionQuery: "(" }] }),
      Code.InvalidArgument,
      "requests[1].permission_query",
    );
    await expectCode(
      api.verify.verifyKeys({ requests: Array.from({ length: 1001 }, () => ({ key: "a" })) }),
      Code.InvalidArgument,
      "requests must contain no more than 1000 item(s)",
    );
  });
});
