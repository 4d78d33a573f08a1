import { type DescMessage, type Message } from "@bufbuild/protobuf";
import { type Path, pathToString, reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import type { FieldMask } from "@bufbuild/protobuf/wkt";
import { createValidator, type Validator, type Violation } from "@bufbuild/protovalidate";
import { invalidFields } from "../domain/errors.js";
import { ID_KINDS, isId } from "../domain/ids.js";

/**
 * Checks a request against the `buf.validate` rules in its proto before the handler sees it. Rules
 * that span fields or depend on the clock stay in the domain. In an update, a rule on a field the
 * mask leaves out does not apply: that field is ignored, whatever it holds.
 */
export class RequestValidator {
  private readonly validator: Validator = createValidator();

  check(schema: DescMessage, request: Message) {
    const result = this.validator.validate(schema, request);
    if (result.kind === "valid") return;
    if (result.kind === "error") throw result.error;
    const violations = result.violations.filter((violation) => !outsideMask(schema, request, violation.field));
    if (violations.length === 0) return;
    throw invalidFields(violations.map(describe));
  }
}

function describe(violation: Violation) {
  return { field: pathToString(violation.field), description: violation.message };
}

/**
 * Whether a violation is in the resource of an update (`key.name`) at a field its `update_mask`
 * does not name. The resource's `id` always counts: it says which record to update.
 */
function outsideMask(schema: DescMessage, request: Message, path: Path): boolean {
  const maskField = schema.fields.find((field) => field.name === "update_mask");
  const [resource, field] = path;
  if (!maskField || resource?.kind !== "field" || field?.kind !== "field" || resource.parent !== schema) return false;
  if (field.name === "id") return false;
  const mask = reflect(schema, request).get(maskField) as ReflectMessage | undefined;
  const paths = (mask?.message as FieldMask | undefined)?.paths ?? [];
  return !paths.some((masked) => masked === field.name || masked.startsWith(`${field.name}.`));
}

/** Every id a request names, in its fields or one message down: what a failed mutation's audit event targets. */
export function requestIds(schema: DescMessage, request: Message, depth = 1): string[] {
  const message = reflect(schema, request);
  return schema.fields.flatMap((field) => {
    if (!message.isSet(field)) return [];
    if (field.fieldKind === "scalar" && typeof message.get(field) === "string") return idsOf([message.get(field) as string]);
    if (field.fieldKind === "list" && field.listKind === "scalar") return idsOf([...(message.get(field) as Iterable<unknown>)]);
    if (field.fieldKind === "message" && depth > 0) {
      const inner = message.get(field) as ReflectMessage;
      return requestIds(inner.desc, inner.message, depth - 1);
    }
    return [];
  });
}

const idsOf = (values: unknown[]) => values.filter((value): value is string => typeof value === "string" && ID_KINDS.some((kind) => isId(kind, value)));
