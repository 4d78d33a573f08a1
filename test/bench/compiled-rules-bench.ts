import { create, type DescMessage, type Message } from "@bufbuild/protobuf";
import { createValidator } from "@bufbuild/protovalidate";
import { CreateKeyRequestSchema } from "../../gen/latchkey/v1/key_pb.js";
import { VerifyKeyRequestSchema, VerifyKeysRequestSchema } from "../../gen/latchkey/v1/verify_pb.js";
import type { FieldViolation } from "../../src/domain/errors.js";
import { compileRules } from "../../src/pipeline/compiled-rules.js";

/**
 * Compiled rules (src/pipeline/compiled-rules.ts) against protovalidate's own evaluators on the
 * same valid requests, in one process, alternating rounds so that a loaded machine slows both alike.
 * Prints each one's time per request and the ratio. `ROUNDS` and `ITERATIONS` (per round, per
 * request message: a batch of 100 gets a hundredth) set the counts.
 */
const ROUNDS = Number(process.env.ROUNDS ?? 10);
const ITERATIONS = Number(process.env.ITERATIONS ?? 20_000);

const verifyKey = create(VerifyKeyRequestSchema, { key: "sk_live_abcdefghijklmnop", permissionQuery: "read and write", tags: ["a", "b"], cost: 1n });
const requests: [string, DescMessage, Message, number][] = [
  ["VerifyKey", VerifyKeyRequestSchema, verifyKey, ITERATIONS],
  [
    "VerifyKeys (100 keys)",
    VerifyKeysRequestSchema,
    create(VerifyKeysRequestSchema, { requests: Array.from({ length: 100 }, () => verifyKey) }),
    ITERATIONS / 100,
  ],
  [
    "CreateKey",
    CreateKeyRequestSchema,
    create(CreateKeyRequestSchema, { key: { keyspaceId: "ks_1", name: "a key", roles: ["reader"], permissions: ["a.read"] } }),
    ITERATIONS,
  ],
];

const validator = createValidator();
let sink = 0;

function timeCompiled(schema: DescMessage, request: Message, iterations: number): number {
  const compiled = compileRules(schema);
  if (!compiled) throw new Error(`${schema.typeName} has rules compiled-rules.ts does not compile`);
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    const found: FieldViolation[] = [];
    compiled(request, "", found);
    sink += found.length;
  }
  return Number(process.hrtime.bigint() - started) / iterations;
}

function timeProtovalidate(schema: DescMessage, request: Message, iterations: number): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    const result = validator.validate(schema, request);
    if (result.kind !== "valid") throw new Error(`${schema.typeName}: the benchmark's request is not valid`);
    sink++;
  }
  return Number(process.hrtime.bigint() - started) / iterations;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

for (const [name, schema, request, iterations] of requests) {
  if (!compileRules(schema)) {
    console.log(`${name}: not compiled (a rule compiled-rules.ts leaves to protovalidate), so protovalidate checks it`);
    continue;
  }
  timeCompiled(schema, request, iterations);
  timeProtovalidate(schema, request, iterations);
  const compiled: number[] = [];
  const native: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    compiled.push(timeCompiled(schema, request, iterations));
    native.push(timeProtovalidate(schema, request, iterations));
  }
  const [c, n] = [median(compiled), median(native)];
  console.log(
    `${name}: compiled ${c.toFixed(0)} ns, protovalidate ${n.toFixed(0)} ns per request (median of ${ROUNDS} rounds of ${iterations}); protovalidate/compiled = ${(n / c).toFixed(1)}`,
  );
}
if (sink < 0) console.log(sink);
