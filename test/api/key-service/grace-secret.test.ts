import { describe, expect, it } from "vitest";
import { CreditOperation, KeyService } from "../../../gen/latchkey/v1/key_pb.js";
import { VerifyCode } from "../../../gen/latchkey/v1/verify_pb.js";
import { MemoryStore } from "../../../src/store/memory.js";
import { type Clients, createKeyspace, type TestApi, testApi } from "../../support/api.js";

/**
 * After a reroll with a grace period a key answers to two secrets. Every change to the key must
 * reach both at once on the instance that made it, and within a change-feed poll on any other.
 */
interface Mutation {
  /** The KeyService RPC this case runs. */
  rpc: keyof typeof KeyService.method;
  mutate(api: Clients, keyId: string): Promise<unknown>;
  /** What the secret that was current before the reroll answers afterwards, asked with `check`. */
  expected: VerifyCode;
  check?: { permissionQuery?: string };
}

const MUTATIONS: Mutation[] = [
  { rpc: "revokeKey", mutate: (api, id) => api.keys.revokeKey({ id }), expected: VerifyCode.REVOKED },
  {
    rpc: "updateKey",
    mutate: (api, id) => api.keys.updateKey({ key: { id, enabled: false }, updateMask: { paths: ["enabled"] } }),
    expected: VerifyCode.DISABLED,
  },
  {
    rpc: "deleteKey",
    mutate: (api, id) => api.keys.deleteKey({ id, permanent: true }),
    expected: VerifyCode.NOT_FOUND,
  },
  {
    rpc: "removeKeyPermissions",
    mutate: (api, id) => api.keys.removeKeyPermissions({ keyId: id, names: ["docs.read"] }),
    expected: VerifyCode.INSUFFICIENT_PERMISSIONS,
    check: { permissionQuery: "docs.read" },
  },
  {
    rpc: "setKeyPermissions",
    mutate: (api, id) => api.keys.setKeyPermissions({ keyId: id, names: ["docs.write"] }),
    expected: VerifyCode.INSUFFICIENT_PERMISSIONS,
    check: { permissionQuery: "docs.read" },
  },
  {
    rpc: "addKeyPermissions",
    mutate: (api, id) => api.keys.addKeyPermissions({ keyId: id, names: ["docs.write"] }),
    expected: VerifyCode.VALID,
    check: { permissionQuery: "docs.write" },
  },
  {
    rpc: "addKeyRoles",
    mutate: (api, id) => api.keys.addKeyRoles({ keyId: id, names: ["writer"] }),
    expected: VerifyCode.VALID,
    check: { permissionQuery: "docs.write" },
  },
  {
    rpc: "setKeyRoles",
    mutate: (api, id) => api.keys.setKeyRoles({ keyId: id, names: ["writer"] }),
    expected: VerifyCode.VALID,
    check: { permissionQuery: "docs.write" },
  },
  {
    rpc: "removeKeyRoles",
    mutate: (api, id) => api.keys.removeKeyRoles({ keyId: id, names: ["reader"] }),
    expected: VerifyCode.INSUFFICIENT_PERMISSIONS,
    check: { permissionQuery: "docs.review" },
  },
  {
    rpc: "updateCredits",
    mutate: (api, id) => api.keys.updateCredits({ keyId: id, operation: CreditOperation.SET, value: 0n }),
    expected: VerifyCode.USAGE_EXCEEDED,
  },
  // A second reroll leaves the first secret nothing to answer for, and ends the second at once with a grace period of 0.
  { rpc: "rerollKey", mutate: (api, id) => api.keys.rerollKey({ id, gracePeriodMs: 0n }), expected: VerifyCode.NOT_FOUND },
];

/** RPCs that read keys or make new ones: they change no key a secret already answers for. */
const NOT_CHANGING_A_KEY = ["createKey", "getKey", "listKeys", "whoAmI", "importKeys"];

async function rerolledKey(api: TestApi, check: Mutation["check"] = {}) {
  const keyspace = await createKeyspace(api, `ks-${Math.random()}`);
  const created = await api.keys.createKey({ key: { keyspaceId: keyspace.id, permissions: ["docs.read"], roles: ["reader"] } });
  const rerolled = await api.keys.rerollKey({ id: created.key!.id, gracePeriodMs: 3_600_000n });
  return { id: created.key!.id, old: created.secret, current: rerolled.secret, check };
}

async function withRoles(api: TestApi) {
  await api.rbac.createRole({ role: { name: "reader", permissions: ["docs.review"] } });
  await api.rbac.createRole({ role: { name: "writer", permissions: ["docs.write"] } });
}

const verdict = async (api: Clients, secret: string, check: Mutation["check"] = {}) => (await api.verify.verifyKey({ key: secret, ...check })).code;

describe("a rerolled key's grace secret follows every change to the key", () => {
  it("the cases below cover every KeyService RPC that changes an existing key", () => {
    const covered = new Set(MUTATIONS.map((mutation) => mutation.rpc as string));
    const changing = KeyService.methods.map((method) => method.localName).filter((name) => !NOT_CHANGING_A_KEY.includes(name));
    expect([...covered].sort()).toEqual(changing.sort());
  });

  it.each(MUTATIONS)("$rpc reaches the old secret at once on the instance that made it", async ({ mutate, expected, check }) => {
    const api = testApi();
    await withRoles(api);
    const key = await rerolledKey(api, check);
    expect(await verdict(api, key.old, { permissionQuery: "docs.read" })).toBe(VerifyCode.VALID);
    expect(await verdict(api, key.current, { permissionQuery: "docs.read" })).toBe(VerifyCode.VALID);
    await mutate(api, key.id);
    expect(await verdict(api, key.old, check)).toBe(expected);
  });

  it.each(MUTATIONS)("$rpc reaches the old secret on another instance after one change-feed poll", async ({ mutate, expected, check }) => {
    const store = new MemoryStore();
    const writer = testApi(store);
    await withRoles(writer);
    const reader = testApi(store);
    await reader.verification.changes.start();
    const viaReader = reader.as((await writer.workspace()).secret);
    const key = await rerolledKey(writer, check);
    await reader.verification.changes.poll();
    expect(await verdict(viaReader, key.old, { permissionQuery: "docs.read" })).toBe(VerifyCode.VALID);
    expect(await verdict(viaReader, key.current, { permissionQuery: "docs.read" })).toBe(VerifyCode.VALID);
    await mutate(writer, key.id);
    await reader.verification.changes.poll();
    expect(await verdict(viaReader, key.old, check)).toBe(expected);
    await reader.verification.changes.stop();
  });

  it("after a second reroll with a grace period of 0, the first rerolled secret answers EXPIRED at once", async () => {
    const api = testApi();
    await withRoles(api);
    const key = await rerolledKey(api);
    expect(await verdict(api, key.current)).toBe(VerifyCode.VALID);
    await api.keys.rerollKey({ id: key.id, gracePeriodMs: 0n });
    expect(await verdict(api, key.current)).toBe(VerifyCode.EXPIRED);
  });
});
