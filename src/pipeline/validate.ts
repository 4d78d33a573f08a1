import type { DescMessage, Message } from "@bufbuild/protobuf";
import { pathToString } from "@bufbuild/protobuf/reflect";
import type { FieldMask } from "@bufbuild/protobuf/wkt";
import { createValidator, type Validator } from "@bufbuild/protovalidate";
import { type FieldViolation, invalidFields } from "../domain/errors.js";
import { maskedFields } from "../api/requests.js";
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
    const found = this.violations(schema, request);
    const violations = found.length > 0 ? withinMask(schema, request, found) : found;
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
 * The violations an update is held to: those outside its resource (`key`), at the resource's `id`
 * (it says which record to update), or at a field its `update_mask` names, read as the handler reads
 * it (`maskedFields`): a mask that names no field of the resource is refused here as it would be there.
 */
function withinMask(schema: DescMessage, request: Message, violations: FieldViolation[]): FieldViolation[] {
  const maskField = schema.fields.find((field) => field.name === "update_mask");
  const resource = schema.fields.find((field) => field.fieldKind === "message" && field !== maskField);
  if (!maskField || resource?.fieldKind !== "message") return violations;
  const mask = (request as unknown as Record<string, FieldMask | undefined>)[maskField.localName];
  const masked = maskedFields(mask, Object.fromEntries(resource.message.fields.map((field) => [field.name, field.name])));
  return violations.filter((violation) => {
    const [head, field] = violation.field.split(/[.[]/);
    return head !== resource.name || !field || field === "id" || masked.has(field);
  });
}
