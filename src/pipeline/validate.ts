import type { DescMessage, Message } from "@bufbuild/protobuf";
import { pathToString, reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import type { FieldMask } from "@bufbuild/protobuf/wkt";
import { createValidator, type Validator } from "@bufbuild/protovalidate";
import { type FieldViolation, invalidFields } from "../domain/errors.js";
import { type CompiledRules, compileRules } from "./compiled-rules.js";

/**
 * Checks a request against the `buf.validate` rules in its proto before the handler sees it: through
 * rules compiled once per message (compiled-rules.ts) where they are plain, through protovalidate
 * otherwise. Rules that span fields or depend on the clock stay in the domain. In an update, a rule
 * on a field the mask leaves out does not apply: that field is ignored, whatever it holds.
 */
export class RequestValidator {
  private readonly validator: Validator = createValidator();
  private readonly compiled = new Map<DescMessage, CompiledRules | undefined>();

  check(schema: DescMessage, request: Message) {
    const violations = this.violations(schema, request).filter((violation) => !outsideMask(schema, request, violation.field));
    if (violations.length > 0) throw invalidFields(violations);
  }

  private violations(schema: DescMessage, request: Message): FieldViolation[] {
    let compiled = this.compiled.get(schema);
    if (!this.compiled.has(schema)) this.compiled.set(schema, (compiled = compileRules(schema)));
    if (compiled) {
      const found: FieldViolation[] = [];
      compiled(request, "", found);
      return found;
    }
    const result = this.validator.validate(schema, request);
    if (result.kind === "error") throw result.error;
    return result.kind === "valid" ? [] : result.violations.map((violation) => ({ field: pathToString(violation.field), description: violation.message }));
  }
}

/**
 * Whether a violation is in the resource of an update (`key.name`) at a field its `update_mask`
 * does not name. The resource's `id` always counts: it says which record to update.
 */
function outsideMask(schema: DescMessage, request: Message, path: string): boolean {
  const maskField = schema.fields.find((field) => field.name === "update_mask");
  if (!maskField) return false;
  const [resource, field] = path.split(/[.[]/);
  if (!field || field === "id" || !schema.fields.some((candidate) => candidate.name === resource && candidate.fieldKind === "message")) return false;
  const mask = reflect(schema, request).get(maskField) as ReflectMessage | undefined;
  const paths = (mask?.message as FieldMask | undefined)?.paths ?? [];
  return !paths.some((masked) => masked === field || masked.startsWith(`${field}.`));
}
