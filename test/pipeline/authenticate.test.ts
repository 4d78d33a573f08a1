import { describe, expect, it } from "vitest";
import { authenticate, refusedCaller } from "../../src/pipeline/authenticate.js";
import { RefusedRootKey } from "../../src/verify/credentials.js";
import { callerHolding, fakeContext } from "./fake-context.js";

const operator = callerHolding([], "");
const rootKey = callerHolding(["key.read"]);
const credentials = {
  admin: (header: string | null) => {
    if (header !== "Bearer admin") throw new Error("not the admin token");
    return operator;
  },
  rootKey: (header: string | null) => (header === "Bearer sk_root" ? rootKey : Promise.reject(new RefusedRootKey("rk_gone", "ws_test"))),
};

describe("authenticate", () => {
  it("an admin procedure asks for the ADMIN_TOKEN, any other for a root key, from the authorization header", async () => {
    expect(authenticate(credentials, true, fakeContext({ authorization: "Bearer admin" }))).toBe(operator);
    expect(authenticate(credentials, false, fakeContext({ authorization: "Bearer sk_root" }))).toBe(rootKey);
    expect(() => authenticate(credentials, true, fakeContext({ authorization: "Bearer sk_root" }))).toThrow("not the admin token");
    await expect(authenticate(credentials, false, fakeContext({ authorization: "Bearer sk_gone" }))).rejects.toBeInstanceOf(RefusedRootKey);
  });

  it("a refused root key is recorded as that key, in its workspace, holding nothing; other failures name no caller", () => {
    expect(refusedCaller(new RefusedRootKey("rk_gone", "ws_test"))).toEqual({
      actor: "rk_gone",
      workspaceId: "ws_test",
      permissions: new Set(),
      keyspaceIds: undefined,
    });
    expect(refusedCaller(new Error("store down"))).toBeUndefined();
  });
});
