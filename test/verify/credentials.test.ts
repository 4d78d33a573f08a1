import { describe, expect, it } from "vitest";
import type { DomainError } from "../../src/domain/errors.js";
import { digestSecret, issueSecret } from "../../src/domain/secret.js";
import { MemoryStore } from "../../src/store/memory.js";
import { Credentials, RefusedRootKey } from "../../src/verify/credentials.js";
import { rootKeyRecord } from "../support/fixtures.js";

const ADMIN_TOKEN = "an-admin-token-of-more-than-32-characters";
/** A well-formed root key the known-digest filter rules out. */
const RULED_OUT = issueSecret("root", 32, 4).secret;

async function setup(overrides: Parameters<typeof rootKeyRecord>[0] = {}) {
  const store = new MemoryStore();
  const issued = issueSecret("root", 32, 4);
  const record = rootKeyRecord({ hash: issued.digest, permissions: ["key.read"], ...overrides });
  await store.rootKeys.insert(record);
  const clock = { now: Date.now() };
  const known = { mayExist: (digest: string) => digest !== digestSecret(RULED_OUT) };
  const credentials = new Credentials(store, { known, maxRootKeys: 100, ttlMs: 60_000, staleMs: 600_000, adminToken: ADMIN_TOKEN, now: () => clock.now });
  let count = 0;
  const find = store.rootKeys.find.bind(store.rootKeys);
  store.rootKeys.find = (match) => (count++, find(match));
  const reads = () => count;
  return { store, record, secret: issued.secret, credentials, clock, reads, header: `Bearer ${issued.secret}` };
}

const failureOf = async (attempt: () => unknown) => {
  try {
    await attempt();
  } catch (error) {
    return error as DomainError;
  }
  throw new Error("expected a failure");
};

describe("Credentials", () => {
  it("reads a root key once, then answers from memory without a promise", async () => {
    const { credentials, header, record, reads } = await setup();
    const caller = await credentials.rootKey(header);
    expect(caller).toMatchObject({ actor: record.id, workspaceId: record.workspaceId });
    const again = credentials.rootKey(header);
    expect(again).not.toBeInstanceOf(Promise);
    expect(reads()).toBe(1);
  });

  it("shares one read among concurrent first calls", async () => {
    const { credentials, header, reads } = await setup();
    await Promise.all(Array.from({ length: 64 }, () => credentials.rootKey(header)));
    expect(reads()).toBe(1);
  });

  it("refuses malformed headers and secrets without reading storage", async () => {
    const { credentials, reads } = await setup();
    for (const header of [null, "", "Basic abc", "Bearer", "Bearer not-a-key", `Bearer ${"x".repeat(10_000)}`]) {
      const error = await failureOf(() => credentials.rootKey(header));
      expect(error).toMatchObject({ kind: "unauthenticated", reason: "CREDENTIALS_MISSING" });
    }
    expect(reads()).toBe(0);
  });

  it("refuses a well-formed root key the known-digest filter rules out, without reading storage", async () => {
    const { credentials, reads } = await setup();
    const error = await failureOf(() => credentials.rootKey(`Bearer ${RULED_OUT}`));
    expect(error).toMatchObject({ kind: "unauthenticated", reason: "ROOT_KEY_REFUSED" });
    expect(reads()).toBe(0);
  });

  it("drops a root key when the change feed names its digest, and then refuses it once revoked", async () => {
    const { store, credentials, header, record } = await setup();
    await credentials.rootKey(header);
    await store.rootKeys.update({ id: record.id }, { revokedAt: new Date() });
    expect(credentials.rootKey(header)).not.toBeInstanceOf(Promise);
    credentials.evict({ rootKeyHash: record.hash });
    const error = await failureOf(() => credentials.rootKey(header));
    expect(error).toBeInstanceOf(RefusedRootKey);
    expect(error).toMatchObject({ rootKeyId: record.id, workspaceId: record.workspaceId, reason: "ROOT_KEY_REFUSED" });
  });

  it("keeps a root key that expires no longer than it lives", async () => {
    const { credentials, header, clock } = await setup({ expiresAt: new Date(Date.now() + 5000) });
    await credentials.rootKey(header);
    clock.now += 5000;
    expect(await failureOf(() => credentials.rootKey(header))).toBeInstanceOf(RefusedRootKey);
  });

  it("answers a root key past its time at once while one read refreshes it; one unused for longer is read while the caller waits", async () => {
    const { store, credentials, header, clock, reads, record } = await setup();
    await credentials.rootKey(header);
    clock.now += 60_000;
    const answers = Array.from({ length: 10 }, () => credentials.rootKey(header));
    for (const answer of answers) expect(answer).not.toBeInstanceOf(Promise);
    await new Promise((resolve) => setImmediate(resolve));
    expect(reads()).toBe(2);
    await store.rootKeys.update({ id: record.id }, { revokedAt: new Date() });
    clock.now += 660_000;
    expect(await failureOf(() => credentials.rootKey(header))).toBeInstanceOf(RefusedRootKey);
    expect(reads()).toBe(3);
  });

  it("ignores changes that name other root keys", async () => {
    const { credentials, header, reads } = await setup();
    await credentials.rootKey(header);
    credentials.evict({ rootKeyHash: digestSecret("someone else") });
    credentials.evict({ keyId: "key_1", hash: digestSecret("a key") });
    credentials.rootKey(header);
    expect(reads()).toBe(1);
  });

  it("accepts the ADMIN_TOKEN for admin calls only, and nothing else for them", async () => {
    const { credentials, header } = await setup();
    expect(credentials.admin(`Bearer ${ADMIN_TOKEN}`)).toMatchObject({ actor: "admin" });
    expect(await failureOf(() => credentials.admin(header))).toMatchObject({ reason: "ADMIN_TOKEN_REQUIRED" });
    expect(await failureOf(() => credentials.rootKey(`Bearer ${ADMIN_TOKEN}`))).toMatchObject({ kind: "unauthenticated" });
  });
});
