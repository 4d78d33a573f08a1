import { create, type DescMessage, fromBinary, type Message, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import { LimitRequestSchema } from "../../gen/latchkey/v1/ratelimit_pb.js";
import { VerifyKeyRequestSchema, VerifyKeysRequestSchema } from "../../gen/latchkey/v1/verify_pb.js";
import { API_SERVICES } from "../../src/app/api-services.js";
import { OPEN_SERVICES } from "../../src/app/services.js";
import { plainDecoder, requestDecoder } from "../../src/transport/request-decoder.js";
import { FuzzInputs } from "../support/fuzz-inputs.js";

const REQUEST_SCHEMAS = [
  ...new Map([...API_SERVICES, ...OPEN_SERVICES].flatMap((service) => service.methods.map((method) => [method.input.typeName, method.input]))).values(),
];

/** What fromBinary makes of the bytes: the message, or that it throws. */
function outcome(decode: (bytes: Buffer) => Message, bytes: Uint8Array): { message: Message } | "throws" {
  try {
    return { message: decode(Buffer.from(bytes)) };
  } catch {
    return "throws";
  }
}

function expectSameAsFromBinary(schema: DescMessage, bytes: Uint8Array) {
  expect(outcome(requestDecoder(schema), bytes)).toStrictEqual(outcome((body) => fromBinary(schema, body), bytes));
}

describe("request decoding", () => {
  it("decodes the requests of the verification hot path directly, as fromBinary would", () => {
    const verify = toBinary(
      VerifyKeyRequestSchema,
      create(VerifyKeyRequestSchema, { key: "lk_abc", permissionQuery: "documents.read", tags: ["route.search", "plan.pro"] }),
    );
    const full = toBinary(
      VerifyKeyRequestSchema,
      create(VerifyKeyRequestSchema, {
        key: "lk_abc",
        keyspaceId: "ks_1",
        permissionQuery: "a AND b",
        requiredScopes: ["s1", "s2"],
        resource: { type: "doc", id: "d1", operation: "read" },
        origin: "https://example.com",
        cost: 0n,
        rateLimits: ["burst"],
        tags: [],
      }),
    );
    const batch = toBinary(VerifyKeysRequestSchema, create(VerifyKeysRequestSchema, { requests: [{ key: "lk_a" }, { key: "lk_b", cost: 3n }] }));
    const limit = toBinary(LimitRequestSchema, create(LimitRequestSchema, { namespace: "api", identifier: "user_1", limit: 10n, durationMs: 1000n }));
    for (const [schema, bytes] of [
      [VerifyKeyRequestSchema, verify],
      [VerifyKeyRequestSchema, full],
      [VerifyKeysRequestSchema, batch],
      [LimitRequestSchema, limit],
    ] as const) {
      const direct = plainDecoder(schema)?.(Buffer.from(bytes));
      expect(direct).toBeDefined();
      expect(direct).toStrictEqual(fromBinary(schema, bytes));
    }
  });

  it("leaves to fromBinary what it does not decode itself, with the same result", () => {
    const decode = plainDecoder(VerifyKeyRequestSchema)!;
    const unknownField = new BinaryWriter().tag(1, WireType.LengthDelimited).string("lk_abc").tag(99, WireType.Varint).uint32(7).finish();
    const nonAscii = toBinary(VerifyKeyRequestSchema, create(VerifyKeyRequestSchema, { key: "lk_abc", tags: ["café"] }));
    const negativeCost = toBinary(VerifyKeyRequestSchema, create(VerifyKeyRequestSchema, { key: "lk_abc", cost: -1n }));
    const resourceTwice = new BinaryWriter()
      .tag(5, WireType.LengthDelimited)
      .bytes(new BinaryWriter().tag(1, WireType.LengthDelimited).string("doc").finish())
      .tag(5, WireType.LengthDelimited)
      .bytes(new BinaryWriter().tag(2, WireType.LengthDelimited).string("d1").finish())
      .finish();
    const paddedTag = Uint8Array.from([0x8a, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01, 0x61]);
    for (const bytes of [unknownField, nonAscii, negativeCost, resourceTwice, paddedTag]) {
      expect(decode(Buffer.from(bytes))).toBeUndefined();
      expectSameAsFromBinary(VerifyKeyRequestSchema, bytes);
    }
    expect(requestDecoder(VerifyKeyRequestSchema)(Buffer.from(resourceTwice))).toMatchObject({ resource: { type: "doc", id: "d1" } });
  });

  it("decodes every request type's random and damaged bodies exactly as fromBinary does", () => {
    const fuzz = new FuzzInputs(20261204);
    for (const schema of REQUEST_SCHEMAS) {
      for (let round = 0; round < 150; round++) {
        const bytes = fuzz.message(schema);
        expectSameAsFromBinary(schema, bytes);
        expectSameAsFromBinary(schema, fuzz.mutate(bytes));
      }
    }
  });
});
