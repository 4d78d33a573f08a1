import { createRegistry, type DescField, type DescMessage, getOption, hasOption, type Message } from "@bufbuild/protobuf";
import { reflect } from "@bufbuild/protobuf/reflect";
import {
  field as fieldRules,
  type FieldRules,
  file_buf_validate_validate,
  Ignore,
  message as messageRules,
  oneof as oneofRules,
} from "../../gen/buf/validate/validate_pb.js";
import type { FieldViolation } from "../domain/errors.js";

/**
 * The plain `buf.validate` rules (string lengths and patterns, list sizes, integer bounds) compiled into direct
 * checks, with protovalidate's paths and wording. protovalidate interprets a message's rules on
 * every call, which costs as much as a cached verification (docs/benchmarks.md has the figures).
 * A message tree with any other rule is not compiled (undefined):
 * protovalidate checks it. test/pipeline/compiled-rules.test.ts holds the two to the same answers.
 */
export type CompiledRules = (message: Message, path: string, out: FieldViolation[]) => void;

type Value = unknown;
/** Checks one field's value; its path (`prefix` + `name`) is put together only for a violation. */
type ValueCheck = (value: Value, prefix: string, name: string, out: FieldViolation[]) => void;

const UNSUPPORTED = Symbol("unsupported");

export function compileRules(schema: DescMessage): CompiledRules | undefined {
  const compiled = new Compiler().message(schema);
  return compiled === UNSUPPORTED ? undefined : (compiled ?? (() => {}));
}

class Compiler {
  private readonly done = new Map<DescMessage, CompiledRules | undefined | typeof UNSUPPORTED>();
  private readonly inProgress = new Set<DescMessage>();
  /** Messages reached again while being compiled: they are fine only if they turn out to have no rules. */
  private readonly reentered = new Set<DescMessage>();

  /** Undefined: nothing to check anywhere in this message's tree. */
  message(schema: DescMessage): CompiledRules | undefined | typeof UNSUPPORTED {
    if (this.done.has(schema)) return this.done.get(schema);
    if (this.inProgress.has(schema)) {
      this.reentered.add(schema);
      return undefined;
    }
    this.inProgress.add(schema);
    const result = this.compileMessage(schema);
    this.inProgress.delete(schema);
    const settled = result !== undefined && this.reentered.has(schema) ? UNSUPPORTED : result;
    this.done.set(schema, settled);
    return settled;
  }

  private compileMessage(schema: DescMessage): CompiledRules | undefined | typeof UNSUPPORTED {
    if (hasOption(schema, messageRules) || schema.oneofs.some((oneof) => hasOption(oneof, oneofRules))) return UNSUPPORTED;
    const checks: { field: DescField; check: ValueCheck }[] = [];
    for (const field of schema.fields) {
      const check = this.field(field);
      if (check === UNSUPPORTED) return UNSUPPORTED;
      if (check) checks.push({ field, check });
    }
    if (checks.length === 0) return undefined;
    return (message, path, out) => {
      const values = message as unknown as Record<string, Value>;
      for (const { field, check } of checks) check(values[field.localName], path, field.name, out);
    };
  }

  private field(field: DescField): ValueCheck | undefined | typeof UNSUPPORTED {
    const rules = hasOption(field, fieldRules) ? getOption(field, fieldRules) : undefined;
    if (rules && !isPlain(rules, [Ignore.UNSPECIFIED, Ignore.IF_ZERO_VALUE])) return UNSUPPORTED;
    switch (field.fieldKind) {
      case "scalar":
      case "enum":
        return rules ? this.scalar(rules, rules.ignore === Ignore.IF_ZERO_VALUE) : undefined;
      case "message": {
        if (rules?.type.case) return UNSUPPORTED;
        const nested = this.message(field.message);
        if (!nested || nested === UNSUPPORTED) return nested;
        return (value, prefix, name, out) => {
          if (value !== undefined) nested(value as Message, `${prefix}${name}.`, out);
        };
      }
      case "list":
        return this.list(field, rules);
      case "map": {
        if (rules?.type.case) return UNSUPPORTED;
        const nested = field.mapKind === "message" ? this.message(field.message) : undefined;
        return nested === undefined ? undefined : UNSUPPORTED;
      }
    }
  }

  private list(field: DescField & { fieldKind: "list" }, rules: FieldRules | undefined): ValueCheck | undefined | typeof UNSUPPORTED {
    let maxItems: bigint | undefined;
    let items: ValueCheck | undefined;
    if (rules?.type.case) {
      if (rules.type.case !== "repeated") return UNSUPPORTED;
      const repeated = rules.type.value;
      if (!onlySet(repeated, ["max_items", "items"])) return UNSUPPORTED;
      maxItems = reflect(schemaOf(repeated), repeated).isSet(fieldOf(repeated, "max_items")) ? repeated.maxItems : undefined;
      if (repeated.items) {
        if (!isPlain(repeated.items, [Ignore.UNSPECIFIED])) return UNSUPPORTED;
        const item = field.listKind === "message" ? UNSUPPORTED : this.scalar(repeated.items, false);
        if (item === UNSUPPORTED) return UNSUPPORTED;
        items = item;
      }
    }
    const nested = field.listKind === "message" ? this.message(field.message) : undefined;
    if (nested === UNSUPPORTED) return UNSUPPORTED;
    if (maxItems === undefined && !items && !nested) return undefined;
    return (value, prefix, name, out) => {
      const list = value as readonly Value[];
      if (maxItems !== undefined && list.length > maxItems) {
        out.push({ field: `${prefix}${name}`, description: `must contain no more than ${maxItems} item(s)` });
      }
      for (let i = 0; i < list.length; i++) {
        if (items) items(list[i], prefix, `${name}[${i}]`, out);
        if (nested) nested(list[i] as Message, `${prefix}${name}[${i}].`, out);
      }
    };
  }

  /** String lengths and integer bounds; anything else is protovalidate's. */
  private scalar(rules: FieldRules, ignoreZero: boolean): ValueCheck | undefined | typeof UNSUPPORTED {
    const { case: kind, value } = rules.type;
    if (kind === undefined) return undefined;
    if (kind === "string") {
      if (!onlySet(value, ["min_len", "max_len", "pattern"])) return UNSUPPORTED;
      const set = reflect(schemaOf(value), value);
      const min = set.isSet(fieldOf(value, "min_len")) ? Number(value.minLen) : undefined;
      const max = set.isSet(fieldOf(value, "max_len")) ? Number(value.maxLen) : undefined;
      const pattern = set.isSet(fieldOf(value, "pattern")) ? plainPattern(value.pattern) : undefined;
      if (pattern === null) return UNSUPPORTED;
      const mismatch = `does not match regex pattern \`${value.pattern}\``;
      return (raw, prefix, name, out) => {
        const text = raw as string | undefined;
        if (text === undefined || (ignoreZero && text === "")) return;
        if (min !== undefined && text.length < 2 * min && codePoints(text) < min) {
          out.push({ field: `${prefix}${name}`, description: `must be at least ${min} characters` });
        }
        if (max !== undefined && text.length > max && codePoints(text) > max) {
          out.push({ field: `${prefix}${name}`, description: `must be at most ${max} characters` });
        }
        if (pattern && !pattern.test(text)) out.push({ field: `${prefix}${name}`, description: mismatch });
      };
    }
    if (kind === "int32" || kind === "int64" || kind === "uint32" || kind === "uint64") {
      if (!onlySet(value, ["gte", "lte"])) return UNSUPPORTED;
      const gte = value.greaterThan.case === "gte" ? value.greaterThan.value : undefined;
      const lte = value.lessThan.case === "lte" ? value.lessThan.value : undefined;
      const description =
        gte !== undefined && lte !== undefined
          ? `must be greater than or equal to ${gte} and less than or equal to ${lte}`
          : gte !== undefined
            ? `must be greater than or equal to ${gte}`
            : `must be less than or equal to ${lte}`;
      return (raw, prefix, name, out) => {
        const number = raw as number | bigint | undefined;
        if (number === undefined || (ignoreZero && (number === 0 || number === 0n))) return;
        if ((gte !== undefined && number < gte) || (lte !== undefined && number > lte)) out.push({ field: `${prefix}${name}`, description });
      };
    }
    return UNSUPPORTED;
  }
}

/**
 * A `pattern` as a JavaScript RegExp, or null when it is not one that RE2 (protovalidate's engine)
 * and JavaScript are sure to read alike: `^`, then character classes of printable ASCII characters,
 * ranges of them and `\xHH` escapes (no negation, no other escape), each alone or followed by `*`,
 * `+` or `?`, then `$`. The classes are written out again as code point ranges, matched by code point.
 */
export function plainPattern(source: string): RegExp | null {
  if (!source.startsWith("^") || !source.endsWith("$")) return null;
  let at = 1;
  let written = "^";
  const end = source.length - 1;
  /** One class member's code point, moving past it; undefined when it is not a plain one. */
  const member = (): number | undefined => {
    const hexEscape = /^\\x([0-9A-Fa-f]{2})/.exec(source.slice(at, end));
    if (hexEscape) {
      at += 4;
      return Number.parseInt(hexEscape[1]!, 16);
    }
    const code = source.charCodeAt(at);
    if (code < 0x20 || code > 0x7e || "\\[]^-".includes(source[at]!)) return undefined;
    at++;
    return code;
  };
  while (at < end) {
    if (source[at] !== "[") return null;
    at++;
    const ranges: string[] = [];
    while (at < end && source[at] !== "]") {
      const dashFirst = source[at] === "-" && ranges.length === 0;
      const dashLast = source[at] === "-" && source[at + 1] === "]";
      if (dashFirst || dashLast) {
        at++;
        ranges.push("\\-");
        continue;
      }
      const low = member();
      if (low === undefined) return null;
      let high = low;
      if (source[at] === "-" && source[at + 1] !== "]") {
        at++;
        const upper = member();
        if (upper === undefined || upper < low) return null;
        high = upper;
      }
      ranges.push(`\\u{${low.toString(16)}}-\\u{${high.toString(16)}}`);
    }
    if (source[at] !== "]" || ranges.length === 0) return null;
    at++;
    written += `[${ranges.join("")}]`;
    if ("*+?".includes(source[at]!) && at < end) written += source[at++];
  }
  return new RegExp(`${written}$`, "u");
}

/** Field rules without CEL, `required`, or a way of ignoring other than those given. */
const isPlain = (rules: FieldRules, ignores: readonly Ignore[]) =>
  rules.cel.length === 0 && rules.celExpression.length === 0 && !rules.required && ignores.includes(rules.ignore);

/** Whether a rules message sets nothing but the named fields (unknown fields count as set). */
function onlySet(rules: Message, allowed: readonly string[]): boolean {
  const schema = schemaOf(rules);
  const message = reflect(schema, rules);
  if ((rules as { $unknown?: unknown[] }).$unknown?.length) return false;
  return schema.fields.every((field) => !message.isSet(field) || allowed.includes(field.name));
}

const rulesRegistry = createRegistry(file_buf_validate_validate);
const schemaOf = (rules: Message): DescMessage => rulesRegistry.getMessage(rules.$typeName)!;
const fieldOf = (rules: Message, name: string): DescField => schemaOf(rules).fields.find((field) => field.name === name)!;

/** protovalidate counts characters as Unicode code points, not UTF-16 units. */
function codePoints(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}
