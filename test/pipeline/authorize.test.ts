import { describe, expect, it } from "vitest";
import { PermissionDenied } from "../../src/domain/access.js";
import { authorize, elevationOf } from "../../src/pipeline/authorize.js";
import { read } from "../../src/pipeline/procedures.js";
import { callerHolding } from "./fake-context.js";

describe("authorize", () => {
  it("a caller holding the permission passes; one lacking it gets PERMISSION_DENIED naming it", () => {
    expect(authorize(callerHolding(["key.read"]), "key.read")).toBeUndefined();
    const denied = authorize(callerHolding(["key.read"]), "key.create");
    expect(denied).toBeInstanceOf(PermissionDenied);
    expect(denied!.message).toBe("this root key lacks the permission key.create");
  });

  it("an admin procedure needs nothing more than the ADMIN_TOKEN its caller authenticated with", () => {
    expect(authorize(callerHolding([], ""), "admin")).toBeUndefined();
  });

  it("a read is elevated only when its request asks for more", () => {
    const decrypting = { when: (request: { decrypt: boolean }) => request.decrypt, permission: "key.decrypt", action: "key.decrypt" } as const;
    const procedure = read("key.read", () => ({}), decrypting) as Parameters<typeof elevationOf>[0];
    expect(elevationOf(procedure, { decrypt: true } as never)).toBe(decrypting);
    expect(elevationOf(procedure, { decrypt: false } as never)).toBeUndefined();
  });
});
