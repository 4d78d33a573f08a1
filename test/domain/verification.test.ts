import { describe, expect, it } from "vitest";
import type { KeyRecord } from "../../src/domain/key.js";
import { answersAlike, compileKey } from "../../src/domain/verification.js";
import { identityRecord, keyRecord } from "../support/fixtures.js";

const refill = { period: "daily" as const, intervalMs: 0, dayOfMonth: 0, amount: 100, lastRefillAt: new Date(0) };
const record = keyRecord({ permissions: ["documents.read"], credits: { remaining: 50, refill } });
const identity = identityRecord();
const compiled = compileKey(record, { identity, rolePermissions: ["documents.write"] });
/** The same key read again, with some fields changed. */
const readAgain = (changes: Partial<KeyRecord>, context: Parameters<typeof compileKey>[1] = { identity, rolePermissions: ["documents.write"] }) =>
  compileKey({ ...structuredClone(record), ...changes }, context);

describe("answersAlike", () => {
  it("holds for a key read again with only its use changed: last use, balance, shares and last refill", () => {
    expect(answersAlike(compiled, readAgain({}))).toBe(true);
    const used = readAgain({
      lastUsedAt: new Date(),
      credits: { remaining: 7, refill: { ...refill, lastRefillAt: new Date() }, shares: { elsewhere: { unclaimed: 3, expiresAt: new Date() } } },
    });
    expect(answersAlike(compiled, used)).toBe(true);
  });

  it("fails for any other change to the record, its credit terms, its identity or its roles' permissions", () => {
    expect(answersAlike(compiled, readAgain({ enabled: false }))).toBe(false);
    expect(answersAlike(compiled, readAgain({ permissions: ["documents.delete"] }))).toBe(false);
    expect(answersAlike(compiled, readAgain({ credits: { remaining: 50, refill: { ...refill, amount: 200 } } }))).toBe(false);
    expect(answersAlike(compiled, readAgain({ credits: null }))).toBe(false);
    expect(answersAlike(compiled, readAgain({ previousSecret: { hash: "1".repeat(64), start: "pay_1", expiresAt: new Date() } }))).toBe(false);
    expect(answersAlike(compiled, readAgain({}, { identity: { ...identity, meta: { plan: "pro" } }, rolePermissions: ["documents.write"] }))).toBe(false);
    expect(answersAlike(compiled, readAgain({}, { identity, rolePermissions: [] }))).toBe(false);
  });
});
