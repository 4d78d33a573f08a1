import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { VerifyCode, VerifyKeyResponseSchema, VerifyKeysResponseSchema } from "../../gen/latchkey/v1/verify_pb.js";
import { encodeOnce, encodingOf, withEncodingAndLazyField, withRepeatedFieldEncoding } from "../../src/transport/encoding.js";

/** What grpc-js sends, and what a remembered encoding is kept as. */
const sent = (bytes: Uint8Array) => Buffer.from(bytes);

describe("remembered encodings", () => {
  const answer = (keyId: string) => create(VerifyKeyResponseSchema, { valid: true, code: VerifyCode.VALID, keyId, permissions: ["a", "b"], meta: { x: 1 } });

  it("encodes a message once and hands back the same bytes", () => {
    const message = answer("key_1");
    const bytes = encodeOnce(VerifyKeyResponseSchema, message);
    expect(bytes).toEqual(sent(toBinary(VerifyKeyResponseSchema, message)));
    expect(encodeOnce(VerifyKeyResponseSchema, message)).toBe(bytes);
    expect(encodingOf(message)).toBe(bytes);
    expect(encodingOf(answer("key_1"))).toBeUndefined();
  });

  it("assembles a repeated field's encoding exactly as the library would write it", () => {
    const results = [answer("key_1"), create(VerifyKeyResponseSchema, { code: VerifyCode.NOT_FOUND }), answer("key_2")];
    const response = withRepeatedFieldEncoding(create(VerifyKeysResponseSchema, { results }), 1, VerifyKeyResponseSchema, results);
    expect(encodingOf(response)).toEqual(sent(toBinary(VerifyKeysResponseSchema, response)));
    const empty = withRepeatedFieldEncoding(create(VerifyKeysResponseSchema), 1, VerifyKeyResponseSchema, []);
    expect(encodingOf(empty)).toEqual(sent(toBinary(VerifyKeysResponseSchema, empty)));
  });

  it("makes a lazy field only when it is read, once, and encodes it as if it had been set", () => {
    const results = [answer("key_1"), answer("key_2")];
    const bytes = toBinary(VerifyKeysResponseSchema, create(VerifyKeysResponseSchema, { results }));
    let made = 0;
    const response = withEncodingAndLazyField(create(VerifyKeysResponseSchema), "results", () => (made++, results), bytes);
    expect(encodingOf(response)).toEqual(sent(bytes));
    expect(made).toBe(0);
    expect(toBinary(VerifyKeysResponseSchema, response)).toEqual(bytes);
    expect(response.results).toBe(results);
    expect(made).toBe(1);
    const replaced = withEncodingAndLazyField(create(VerifyKeysResponseSchema), "results", () => (made++, results), bytes);
    replaced.results = [];
    expect(replaced.results).toEqual([]);
    expect(made).toBe(1);
  });
});
