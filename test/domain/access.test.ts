import { describe, expect, it } from "vitest";
import {
  type Caller,
  checkGrant,
  MANAGEMENT_PERMISSIONS,
  MAX_ROOT_KEY_PERMISSIONS,
  PermissionDenied,
  permissionDenial,
  reachesKeyspace,
  rootKeyUsable,
  WORKSPACE_WIDE,
} from "../../src/domain/access.js";
import type { DomainError } from "../../src/domain/errors.js";
import { rootKeyRecord } from "../support/fixtures.js";

const caller = (permissions: readonly string[], keyspaceIds?: string[]): Caller => ({
  actor: "rk_1",
  workspaceId: "ws_1",
  permissions: new Set(permissions) as Caller["permissions"],
  keyspaceIds: keyspaceIds && new Set(keyspaceIds),
});

const failure = (grant: () => unknown) => {
  try {
    grant();
  } catch (error) {
    return error as DomainError;
  }
  throw new Error("expected a failure");
};

describe("checkGrant", () => {
  it("grants a subset of what the caller holds, dropping repeats", () => {
    expect(checkGrant(caller(MANAGEMENT_PERMISSIONS), { permissions: ["key.read", "key.read"], keyspaceIds: [] })).toEqual({
      permissions: ["key.read"],
      keyspaceIds: [],
    });
  });

  it("refuses a permission the caller lacks, naming it, and an unknown one as invalid", () => {
    const denied = failure(() => checkGrant(caller(["key.read"]), { permissions: ["key.read", "key.create"], keyspaceIds: [] }));
    expect(denied).toBeInstanceOf(PermissionDenied);
    expect(denied.message).toBe("this root key lacks the permission key.create");
    expect(failure(() => checkGrant(caller(["key.read"]), { permissions: ["key.everything"], keyspaceIds: [] })).kind).toBe("invalid_argument");
    expect(failure(() => checkGrant(caller(["key.read"]), { permissions: [], keyspaceIds: [] })).kind).toBe("invalid_argument");
  });

  it("keeps a narrowed caller's grants narrowed within its keyspaces, whatever the permissions", () => {
    const narrowed = caller(["key.read", "workspace.read"], ["ks_a", "ks_b"]);
    expect(checkGrant(narrowed, { permissions: ["key.read"], keyspaceIds: ["ks_a"] }).keyspaceIds).toEqual(["ks_a"]);
    expect(failure(() => checkGrant(narrowed, { permissions: ["key.read"], keyspaceIds: [] })).reason).toBe("KEYSPACE_NOT_GRANTED");
    expect(failure(() => checkGrant(narrowed, { permissions: ["key.read"], keyspaceIds: ["ks_c"] })).reason).toBe("KEYSPACE_NOT_GRANTED");
    expect(failure(() => checkGrant(narrowed, { permissions: ["workspace.read"], keyspaceIds: [] })).reason).toBe("KEYSPACE_NOT_GRANTED");
  });

  it("never puts a workspace-wide permission on a narrowed root key, nor lets a narrowed caller grant one, naming it", () => {
    for (const permission of WORKSPACE_WIDE) {
      const invalid = failure(() => checkGrant(caller(MANAGEMENT_PERMISSIONS), { permissions: [permission], keyspaceIds: ["ks_a"] }));
      expect(invalid.violations).toEqual([
        { field: "root_key.permissions[0]", description: `is ${permission}, which is workspace-wide. A root key narrowed to keyspaces cannot hold it` },
      ]);
      const narrowed = caller(MANAGEMENT_PERMISSIONS, ["ks_a"]);
      for (const keyspaceIds of [[], ["ks_a"]]) {
        const denied = failure(() => checkGrant(narrowed, { permissions: ["key.read", permission], keyspaceIds }));
        expect(denied).toMatchObject({ kind: "permission_denied", reason: "KEYSPACE_NOT_GRANTED", metadata: { permission } });
      }
      const lacking = failure(() => checkGrant(caller(["key.read"], ["ks_a"]), { permissions: ["key.read", permission], keyspaceIds: ["ks_a"] }));
      expect(lacking).toMatchObject({ kind: "permission_denied", message: `this root key lacks the permission ${permission}` });
    }
  });

  it("refuses more permission entries than there are permissions, repeats included", () => {
    const permissions = Array.from({ length: MAX_ROOT_KEY_PERMISSIONS + 1 }, () => "key.read");
    expect(failure(() => checkGrant(caller(MANAGEMENT_PERMISSIONS), { permissions, keyspaceIds: [] })).violations).toEqual([
      { field: "root_key.permissions", description: `must have at most ${MAX_ROOT_KEY_PERMISSIONS} entries` },
    ]);
    expect(checkGrant(caller(MANAGEMENT_PERMISSIONS), { permissions: permissions.slice(1), keyspaceIds: [] }).permissions).toEqual(["key.read"]);
  });
});

describe("permissionDenial", () => {
  it("refuses a workspace-wide permission to a narrowed caller even when it holds it", () => {
    expect(permissionDenial(caller(MANAGEMENT_PERMISSIONS), "identity.update")).toBeUndefined();
    const denial = permissionDenial(caller(MANAGEMENT_PERMISSIONS, ["ks_a"]), "identity.update");
    expect(denial).toMatchObject({ kind: "permission_denied", reason: "KEYSPACE_NOT_GRANTED", metadata: { permission: "identity.update" } });
    expect(permissionDenial(caller(MANAGEMENT_PERMISSIONS, ["ks_a"]), "key.update")).toBeUndefined();
    expect(permissionDenial(caller(MANAGEMENT_PERMISSIONS, ["ks_a"]), "rbac.read")).toBeUndefined();
    expect(permissionDenial(caller(["key.read"]), "key.update")).toBeInstanceOf(PermissionDenied);
  });
});

describe("reachesKeyspace and rootKeyUsable", () => {
  it("reaches every keyspace unless narrowed", () => {
    expect(reachesKeyspace(caller([]), "ks_x")).toBe(true);
    expect(reachesKeyspace(caller([], ["ks_a"]), "ks_a")).toBe(true);
    expect(reachesKeyspace(caller([], ["ks_a"]), "ks_x")).toBe(false);
  });

  it("refuses revoked keys and keys at or past their expiry", () => {
    const now = Date.UTC(2026, 0, 1);
    expect(rootKeyUsable(rootKeyRecord(), now)).toBe(true);
    expect(rootKeyUsable(rootKeyRecord({ revokedAt: new Date(now) }), now)).toBe(false);
    expect(rootKeyUsable(rootKeyRecord({ expiresAt: new Date(now) }), now)).toBe(false);
    expect(rootKeyUsable(rootKeyRecord({ expiresAt: new Date(now + 1) }), now)).toBe(true);
  });
});
