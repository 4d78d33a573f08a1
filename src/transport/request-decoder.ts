import { type DescField, type DescMessage, fromBinary, type Message, protoInt64, ScalarType } from "@bufbuild/protobuf";

/**
 * Decodes a request message as `fromBinary` does, without its reflection, for the plain messages
 * most requests are: proto3 fields of strings, booleans, 32-bit and 64-bit integers and open
 * enums, repeated strings, and nested messages of the same kind. A message built so decodes the
 * usual bytes of its type directly; any other bytes (an unknown field, a wire type the field does
 * not have, a non-ASCII string, a varint longer than the common case, a message field given twice,
 * a length past the end) go to `fromBinary` whole, so every body decodes to exactly what
 * `fromBinary` makes of it, or fails as it fails. Other messages always go to `fromBinary`.
 * `fromBinary` goes through protobuf-es's reflection for every field, which was the largest part
 * of a cached VerifyKey's own work on the native port (docs/benchmarks.md).
 */
export function requestDecoder(schema: DescMessage): (bytes: Buffer) => Message {
  const decodePlain = plainDecoder(schema);
  if (!decodePlain) return (bytes) => fromBinary(schema, bytes);
  return (bytes) => decodePlain(bytes) ?? fromBinary(schema, bytes);
}

/**
 * The direct decoder of a plain message type, or undefined for other types. It answers undefined
 * for bytes it leaves to `fromBinary`.
 */
export function plainDecoder(schema: DescMessage): ((bytes: Buffer) => Message | undefined) | undefined {
  const plain = plainMessage(schema, new Set());
  return plain && ((bytes) => new Reader(bytes).message(plain, bytes.length) as Message | undefined);
}

enum Kind {
  String,
  Bool,
  Int32,
  Uint32,
  Int64,
  Uint64,
  Strings,
  Message,
  Messages,
}

interface PlainField {
  localName: string;
  kind: Kind;
  /** The wire type its usual encoding has: 0 for a varint, 2 for length-delimited. */
  wireType: 0 | 2;
  message?: PlainMessage;
}

interface PlainMessage {
  /** Indexed by field number. */
  fields: (PlainField | undefined)[];
  /** A fresh zero message, as `create` makes one. */
  zero: () => Record<string, unknown>;
}

/** protobuf-es's number for a proto3 file's edition, and for a field without explicit presence. */
const EDITION_PROTO3 = 999;
const IMPLICIT_PRESENCE = 2;
/** Fields are found by number in an array: a message with larger numbers goes to `fromBinary`. */
const MAX_FIELD_NUMBER = 1000;

/** The message as a PlainMessage, or undefined when it has a field this decoder leaves to `fromBinary`. */
function plainMessage(schema: DescMessage, enclosing: Set<DescMessage>): PlainMessage | undefined {
  // A proto3 file: no field needs the prototype chain `create` gives proto2 defaults.
  if (schema.file.edition !== EDITION_PROTO3 || schema.oneofs.length > 0 || schema.typeName.startsWith("google.protobuf.") || enclosing.has(schema))
    return undefined;
  const fields: (PlainField | undefined)[] = [];
  const implicit: { localName: string; list: boolean; zero: unknown }[] = [];
  const inside = new Set(enclosing).add(schema);
  for (const field of schema.fields) {
    const plain = plainField(field, inside);
    if (!plain || field.number > MAX_FIELD_NUMBER) return undefined;
    fields[field.number] = plain;
    if (field.fieldKind === "list") implicit.push({ localName: field.localName, list: true, zero: undefined });
    else if (field.fieldKind !== "message" && field.presence === IMPLICIT_PRESENCE)
      implicit.push({ localName: field.localName, list: false, zero: zeroOf(plain.kind) });
  }
  const template: Record<string, unknown> = { $typeName: schema.typeName };
  for (const field of implicit) template[field.localName] = field.zero;
  const lists = implicit.filter((field) => field.list).map((field) => field.localName);
  const zero = () => {
    const message = { ...template };
    for (const name of lists) message[name] = [];
    return message;
  };
  return { fields, zero };
}

function plainField(field: DescField, enclosing: Set<DescMessage>): PlainField | undefined {
  const { localName } = field;
  switch (field.fieldKind) {
    case "scalar": {
      if (field.longAsString) return undefined;
      const kind = SCALAR_KINDS.get(field.scalar);
      return kind === undefined ? undefined : { localName, kind, wireType: kind === Kind.String ? 2 : 0 };
    }
    case "enum":
      return field.enum.open ? { localName, kind: Kind.Int32, wireType: 0 } : undefined;
    case "list":
      if (field.listKind === "scalar" && field.scalar === ScalarType.STRING) return { localName, kind: Kind.Strings, wireType: 2 };
      if (field.listKind === "message" && !field.delimitedEncoding) {
        const message = plainMessage(field.message, enclosing);
        return message && { localName, kind: Kind.Messages, wireType: 2, message };
      }
      return undefined;
    case "message": {
      if (field.delimitedEncoding) return undefined;
      const message = plainMessage(field.message, enclosing);
      return message && { localName, kind: Kind.Message, wireType: 2, message };
    }
    default:
      return undefined;
  }
}

const SCALAR_KINDS = new Map<ScalarType, Kind>([
  [ScalarType.STRING, Kind.String],
  [ScalarType.BOOL, Kind.Bool],
  [ScalarType.INT32, Kind.Int32],
  [ScalarType.UINT32, Kind.Uint32],
  [ScalarType.INT64, Kind.Int64],
  [ScalarType.UINT64, Kind.Uint64],
]);

function zeroOf(kind: Kind): unknown {
  switch (kind) {
    case Kind.String:
      return "";
    case Kind.Bool:
      return false;
    case Kind.Int64:
    case Kind.Uint64:
      return protoInt64.zero;
    default:
      return 0;
  }
}

/** Values of at most this many varint bytes are read here: 49 bits, exact as a number. */
const MAX_VALUE_BYTES = 7;
/** Tags and lengths of more bytes than this go to `fromBinary`, which refuses such tags. */
const MAX_TAG_OR_LENGTH_BYTES = 5;

/** Reads the usual encoding of plain messages; answers undefined at the first thing it leaves to `fromBinary`. */
class Reader {
  pos = 0;

  constructor(private readonly bytes: Buffer) {}

  message(plain: PlainMessage, length: number): Record<string, unknown> | undefined {
    const end = this.pos + length;
    const message = plain.zero();
    while (this.pos < end) {
      const tag = this.varint(MAX_TAG_OR_LENGTH_BYTES);
      if (tag === undefined || tag > 0xffffffff) return undefined;
      const field = plain.fields[tag >>> 3];
      if (!field || (tag & 7) !== field.wireType) return undefined;
      if (field.wireType === 0) {
        const value = this.varint(MAX_VALUE_BYTES);
        if (value === undefined) return undefined;
        message[field.localName] = scalarOf(field.kind, value);
        continue;
      }
      const size = this.varint(MAX_TAG_OR_LENGTH_BYTES);
      if (size === undefined || this.pos + size > end) return undefined;
      switch (field.kind) {
        case Kind.String:
        case Kind.Strings: {
          const text = this.ascii(size);
          if (text === undefined) return undefined;
          if (field.kind === Kind.String) message[field.localName] = text;
          else (message[field.localName] as string[]).push(text);
          break;
        }
        case Kind.Message: {
          if (message[field.localName] !== undefined) return undefined;
          const nested = this.message(field.message!, size);
          if (!nested) return undefined;
          message[field.localName] = nested;
          break;
        }
        default: {
          const nested = this.message(field.message!, size);
          if (!nested) return undefined;
          (message[field.localName] as unknown[]).push(nested);
        }
      }
    }
    return this.pos === end ? message : undefined;
  }

  private varint(maxBytes: number): number | undefined {
    let value = 0;
    for (let index = 0; index < maxBytes; index++) {
      const byte = this.bytes[this.pos + index];
      if (byte === undefined) return undefined;
      value += (byte & 0x7f) * 2 ** (7 * index);
      if (byte < 0x80) {
        this.pos += index + 1;
        return value;
      }
    }
    return undefined;
  }

  private ascii(size: number): string | undefined {
    const { bytes, pos } = this;
    const end = pos + size;
    for (let index = pos; index < end; index++) if (bytes[index]! >= 0x80) return undefined;
    this.pos = end;
    return bytes.toString("latin1", pos, end);
  }
}

function scalarOf(kind: Kind, value: number): unknown {
  switch (kind) {
    case Kind.Bool:
      return value !== 0;
    case Kind.Int32:
      return value | 0;
    case Kind.Uint32:
      return value >>> 0;
    case Kind.Int64:
    case Kind.Uint64:
      return BigInt(value);
    default:
      return value;
  }
}
