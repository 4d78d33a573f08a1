import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { VerifyCode, VerifyKeyResponseSchema, VerifyKeysResponseSchema } from "../../gen/latchkey/v1/verify_pb.js";
import { EncodedInit, encodeOnce, encodingOf, repeatedFieldEncoding, withEncodingAndLazyField } from "../../src/transport/encoding.js";

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
    expect(repeatedFieldEncoding(1, VerifyKeyResponseSchema, results)).toEqual(
      toBinary(VerifyKeysResponseSchema, create(VerifyKeysResponseSchema, { results })),
    );
    expect(repeatedFieldEncoding(1, VerifyKeyResponseSchema, [])).toEqual(toBinary(VerifyKeysResponseSchema, create(VerifyKeysResponseSchema)));
  });

  it("takes an encoded answer's bytes as they are, and its fields make the same message", () => {
    class Answer extends EncodedInit {
      readonly keyId = "key_3";
      readonly code = VerifyCode.NOT_FOUND;
    }
    const encoded = new Answer(toBinary(VerifyKeyResponseSchema, create(VerifyKeyResponseSchema, { keyId: "key_3", code: VerifyCode.NOT_FOUND })));
    expect(encodingOf(encoded)).toEqual(sent(toBinary(VerifyKeyResponseSchema, create(VerifyKeyResponseSchema, encoded))));
    const results = [answer("key_1"), encoded];
    expect(repeatedFieldEncoding(1, VerifyKeyResponseSchema, results)).toEqual(
      toBinary(VerifyKeysResponseSchema, create(VerifyKeysResponseSchema, { results: results.map((result) => create(VerifyKeyResponseSchema, result)) })),
    );
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
