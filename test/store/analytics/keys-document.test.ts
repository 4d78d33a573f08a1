import { BSON, Decimal128, Long } from "mongodb";
import { describe, expect, it } from "vitest";
import { keysDocumentOf } from "../../../src/store/analytics/keys-document.js";

const stored = {
  _id: "abc",
  source: "verification",
  workspaceId: "ws_a",
  keyspaceId: "ks_a",
  keyId: "",
  externalId: "",
  tags: [],
  overflow: false,
  time: new Date(Date.UTC(2026, 5, 1)),
  outcomes: { valid: 5, rate_limited: 2 },
  credits: 5,
  expiresAt: new Date(Date.UTC(2028, 5, 1)),
  keysOverflowed: true,
};

describe("keysDocumentOf", () => {
  it("reads a keys document as the driver does, with its key entries as a map in stored order, whatever characters and number types they hold", () => {
    const keys = {
      kkey_b: { outcomes: { valid: 3, rate_limited: 2 }, credits: 3 },
      "kkey%2Eone%24": { outcomes: { valid: 2 }, credits: 2.5 },
      "oünï 🎉": { outcomes: { valid: Long.fromNumber(2 ** 40), ünï: 4 }, credits: Long.fromNumber(7) },
    };
    const bytes = BSON.serialize({ ...stored, keys });
    const read = keysDocumentOf(bytes);
    const { keys: _, ...rest } = read;
    expect(rest).toEqual(BSON.deserialize(BSON.serialize(stored)));
    expect(read.keys).toEqual(
      new Map([
        ["kkey_b", { outcomes: { valid: 3, rate_limited: 2 }, credits: 3 }],
        ["kkey%2Eone%24", { outcomes: { valid: 2 }, credits: 2.5 }],
        ["oünï 🎉", { outcomes: { valid: 2 ** 40, ünï: 4 }, credits: 7 }],
      ]),
    );
    expect(Object.keys(read)).toEqual(Object.keys({ ...stored, keys }));
  });

  it("leaves keys holding anything but counts to the driver, so that what is read is what was stored", () => {
    for (const entry of [
      { outcomes: { valid: Long.fromString("9007199254740993") }, credits: 0 },
      { outcomes: { valid: Decimal128.fromString("1") }, credits: 0 },
      { outcomes: { valid: 1 }, credits: 0, note: "x" },
    ]) {
      const read = keysDocumentOf(BSON.serialize({ ...stored, keys: { kkey_a: entry } }));
      expect(read.keys).toEqual(new Map([["kkey_a", BSON.deserialize(BSON.serialize(entry))]]));
    }
  });

  it("reads a document without keys as the driver does", () => {
    expect(keysDocumentOf(BSON.serialize(stored))).toEqual(BSON.deserialize(BSON.serialize(stored)));
  });
});
