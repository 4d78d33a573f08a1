import { create, type DescField, type DescMessage, type Message } from "@bufbuild/protobuf";
import { pathToString } from "@bufbuild/protobuf/reflect";
import { createValidator } from "@bufbuild/protovalidate";
import { describe, expect, it } from "vitest";
import { getOption, hasOption } from "@bufbuild/protobuf";
import { field as fieldRules } from "../../gen/buf/validate/validate_pb.js";
import { LimitRequestSchema } from "../../gen/latchkey/v1/ratelimit_pb.js";
import { VerifyKeyRequestSchema, VerifyKeysRequestSchema } from "../../gen/latchkey/v1/verify_pb.js";
import { compileRules, plainPattern } from "../../src/pipeline/compiled-rules.js";
import type { FieldViolation } from "../../src/domain/errors.js";
import { API_SERVICES } from "../../src/app/api-services.js";

/** A small deterministic random source, so a failure can be replayed. */
function random(seed: number) {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

const LENGTHS = [0, 1, 2, 63, 64, 65, 127, 128, 129, 255, 256, 257, 511, 512, 513, 1023, 1024, 1025];
const COUNTS = [0, 1, 2, 19, 20, 21, 99, 100, 101];
const NUMBERS = [-1, 0, 1, 15, 16, 17, 63, 64, 65, 604_800_000, 604_800_001, 2 ** 31 - 1];

/** A request with values near every boundary our rules use, astral characters included (they count once). */
function sample(schema: DescMessage, next: () => number, depth = 0): Message {
  const pick = <T>(values: readonly T[]) => values[Math.floor(next() * values.length)]!;
  const text = () => {
    const length = pick(LENGTHS);
    return next() < 0.2 ? "😀".repeat(length) : "x".repeat(length);
  };
  const scalar = (field: DescField): unknown => {
    if (field.fieldKind === "enum") return 0;
    if (field.fieldKind !== "scalar" && field.fieldKind !== "list") return undefined;
    const kind = field.scalar;
    if (kind === undefined) return undefined;
    if (kind === 9) return text();
    if (kind === 8) return next() < 0.5;
    if (kind === 12) return new Uint8Array(2);
    const number = pick(NUMBERS);
    if (kind === 3 || kind === 4 || kind === 6 || kind === 16 || kind === 18) return BigInt(kind === 4 || kind === 6 ? Math.abs(number) : number);
    return kind === 13 || kind === 7 ? Math.abs(number) : number;
  };
  const init: Record<string, unknown> = {};
  for (const field of schema.fields) {
    if (next() < 0.3) continue;
    if (field.fieldKind === "message" && depth < 3 && !field.message.typeName.startsWith("google.protobuf.")) {
      init[field.localName] = sample(field.message, next, depth + 1);
    } else if (field.fieldKind === "list") {
      const count = depth < 2 ? pick(COUNTS) : 1;
      init[field.localName] =
        field.listKind === "message"
          ? Array.from({ length: Math.min(count, 3) }, () => sample(field.message, next, depth + 1)).concat(
              count > 3 ? Array.from({ length: count - 3 }, () => create(field.message)) : [],
            )
          : Array.from({ length: count }, () => scalar(field));
    } else if (field.fieldKind === "scalar" || field.fieldKind === "enum") {
      init[field.localName] = scalar(field);
    }
  }
  return create(schema, init as never);
}

const validator = createValidator();
const byProtovalidate = (schema: DescMessage, message: Message): FieldViolation[] => {
  const result = validator.validate(schema, message);
  if (result.kind === "error") throw result.error;
  return result.kind === "valid" ? [] : result.violations.map((violation) => ({ field: pathToString(violation.field), description: violation.message }));
};
const compiled = (schema: DescMessage, message: Message) => {
  const found: FieldViolation[] = [];
  compileRules(schema)!(message, "", found);
  return found;
};
const sorted = (violations: FieldViolation[]) => violations.map(({ field, description }) => `${field} ${description}`).sort();

/** Requests with rules at several depths: their samples must break some. */
const RULED = new Set([
  "latchkey.v1.VerifyKeyRequest",
  "latchkey.v1.VerifyKeysRequest",
  "latchkey.v1.CreateKeyRequest",
  "latchkey.v1.RevokeKeyRequest",
  "latchkey.v1.ListAuditEventsRequest",
]);

const REQUESTS = API_SERVICES.flatMap((service) => service.methods.map((method) => method.input));

describe("compiled field rules", () => {
  it("compile for the verification requests, the hot path", () => {
    expect(compileRules(VerifyKeyRequestSchema)).toBeDefined();
    expect(compileRules(VerifyKeysRequestSchema)).toBeDefined();
  });

  it("compile for RatelimitService.Limit, whose names have patterns", () => {
    expect(compileRules(LimitRequestSchema)).toBeDefined();
  });

  it.each(["^[^a]*$", "^[a-z]", "[a-z]*$", "^(a|b)$", "^[\\d]*$", "^[a-]b]$", "^[a-b-c]$", "^[z-a]$", "^[]a]$", "^.*$", "^[a]{2}$", "^[é]$", "^[a]**$"])(
    "leaves %s to protovalidate",
    (pattern) => {
      expect(plainPattern(pattern)).toBeNull();
    },
  );

  it.each(
    REQUESTS.filter((schema) => compileRules(schema)).flatMap((schema) =>
      schema.fields
        .filter((field) => field.fieldKind === "scalar" && hasOption(field, fieldRules) && getOption(field, fieldRules).type.case === "string")
        .filter((field) => (getOption(field, fieldRules).type.value as { pattern?: string }).pattern)
        .map((field) => [`${schema.typeName}.${field.name}`, schema, field] as const),
    ),
  )("%s: its pattern gives protovalidate's answer for every ASCII character, anywhere in the text, and beyond ASCII", (_, schema, field) => {
    expect(plainPattern((getOption(field, fieldRules).type.value as { pattern: string }).pattern)).not.toBeNull();
    const characters = [...Array.from({ length: 128 }, (_, code) => String.fromCharCode(code)), "é", "€", "😀", "\u2028"];
    for (const character of characters) {
      for (const text of [character, `a${character}`, `${character}a`, `a${character}b`, `${character}${character}`, `a${character}\n`]) {
        const message = create(schema, { [field.localName]: text } as never);
        expect(sorted(compiled(schema, message)), JSON.stringify(text)).toEqual(sorted(byProtovalidate(schema, message)));
      }
    }
  });

  it.each(REQUESTS.filter((schema) => compileRules(schema)).map((schema) => [schema.typeName, schema] as const))(
    "%s: the same violations as protovalidate, on 300 requests near every boundary",
    (_, schema) => {
      const next = random(schema.typeName.length * 7919);
      let violations = 0;
      for (let i = 0; i < 300; i++) {
        const message = sample(schema, next);
        const found = sorted(compiled(schema, message));
        expect(found).toEqual(sorted(byProtovalidate(schema, message)));
        violations += found.length;
      }
      if (RULED.has(schema.typeName)) expect(violations, "the samples should break rules too").toBeGreaterThan(30);
    },
  );
});
