import { type DescField, type DescMessage, fromBinary, ScalarType, toJsonString } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

/**
 * Random request bodies for fuzzing, from a seeded source so a failure can be replayed: messages
 * written field by field from a descriptor with values anywhere in their wire type's range (huge
 * timestamps, unknown enum values, astral and control characters, wrong wire types), then
 * mutated byte by byte; and the same for Connect JSON.
 */
export class FuzzInputs {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0 || 1;
  }

  /** xorshift32: small, fast, and deterministic for a seed. */
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state / 2 ** 32;
  }

  int(below: number) {
    return Math.floor(this.next() * below);
  }

  pick<T>(values: readonly T[]): T {
    return values[this.int(values.length)]!;
  }

  bytes(length: number): Uint8Array {
    return Uint8Array.from({ length }, () => this.int(256));
  }

  /** A message of this type, every field maybe set, nested messages to `depth`. */
  message(schema: DescMessage, depth = 3): Uint8Array {
    const writer = new BinaryWriter();
    for (const field of schema.fields) {
      if (this.next() < 0.4) continue;
      const repeats = field.fieldKind === "list" || field.fieldKind === "map" ? this.pick([1, 2, 3, 25]) : 1;
      for (let index = 0; index < repeats; index++) this.field(writer, field, depth);
    }
    if (this.next() < 0.1) writer.tag(1000 + this.int(1000), WireType.Varint).uint64(this.int(2 ** 31));
    return writer.finish();
  }

  private field(writer: BinaryWriter, field: DescField, depth: number) {
    const number = field.number;
    if (this.next() < 0.05) {
      // A wire type the field does not have.
      writer.tag(number, this.pick([WireType.Varint, WireType.Bit64, WireType.LengthDelimited, WireType.Bit32])).raw(this.bytes(this.int(9)));
      return;
    }
    if (field.fieldKind === "message" || (field.fieldKind === "list" && field.listKind === "message")) {
      const nested = depth > 0 ? this.message(field.message!, depth - 1) : new Uint8Array(0);
      writer.tag(number, WireType.LengthDelimited).bytes(nested);
      return;
    }
    if (field.fieldKind === "map") {
      const entry = new BinaryWriter();
      this.scalar(entry, 1, field.mapKey);
      if (field.mapKind === "message") entry.tag(2, WireType.LengthDelimited).bytes(depth > 0 ? this.message(field.message!, depth - 1) : new Uint8Array(0));
      else if (field.mapKind === "enum") entry.tag(2, WireType.Varint).int32(this.enumValue());
      else this.scalar(entry, 2, field.scalar);
      writer.tag(number, WireType.LengthDelimited).bytes(entry.finish());
      return;
    }
    if (field.fieldKind === "enum" || (field.fieldKind === "list" && field.listKind === "enum")) {
      writer.tag(number, WireType.Varint).int32(this.enumValue());
      return;
    }
    this.scalar(writer, number, field.scalar);
  }

  private enumValue() {
    return this.pick([0, 1, 2, 3, 7, -1, 2 ** 31 - 1]);
  }

  private scalar(writer: BinaryWriter, number: number, type: ScalarType | undefined) {
    switch (type) {
      case ScalarType.STRING:
        writer.tag(number, WireType.LengthDelimited).string(this.text());
        return;
      case ScalarType.BYTES:
        writer.tag(number, WireType.LengthDelimited).bytes(this.bytes(this.pick([0, 1, 32, 300])));
        return;
      case ScalarType.BOOL:
        writer.tag(number, WireType.Varint).bool(this.next() < 0.5);
        return;
      case ScalarType.DOUBLE:
        writer.tag(number, WireType.Bit64).double(this.pick([0, -1, 1e308, Number.NaN, Number.POSITIVE_INFINITY]));
        return;
      case ScalarType.FLOAT:
        writer.tag(number, WireType.Bit32).float(this.pick([0, -1, 3e38, Number.NaN]));
        return;
      case ScalarType.INT32:
      case ScalarType.SINT32:
      case ScalarType.SFIXED32:
        writer.tag(number, WireType.Varint).int32(this.pick([0, 1, -1, 2 ** 31 - 1, -(2 ** 31)]));
        return;
      case ScalarType.UINT32:
      case ScalarType.FIXED32:
        writer.tag(number, WireType.Varint).uint32(this.pick([0, 1, 16, 64, 2 ** 32 - 1]));
        return;
      default:
        writer
          .tag(number, WireType.Varint)
          .int64(this.pick([0n, 1n, -1n, 1000n, 999_999_999_999_999n, 9_223_372_036_854_775_807n, -9_223_372_036_854_775_808n]));
    }
  }

  text(): string {
    const length = this.pick([0, 1, 5, 64, 300, 2000]);
    const alphabet = this.pick(["abc_", "lk_ABCxyz019", "😀é\u0000\u202e", "/?:@&=+,#%\r\n", "a*b*c*d*e."]);
    return Array.from({ length }, () => alphabet[this.int(alphabet.length)]).join("");
  }

  /** A valid message's bytes with some bytes flipped, inserted, dropped or the end cut off. */
  mutate(bytes: Uint8Array): Uint8Array {
    const out = [...bytes];
    const edits = 1 + this.int(4);
    for (let edit = 0; edit < edits; edit++) {
      const at = this.int(out.length + 1);
      switch (this.int(4)) {
        case 0:
          if (out.length > 0) out[Math.min(at, out.length - 1)] = this.int(256);
          break;
        case 1:
          out.splice(at, 0, ...this.bytes(1 + this.int(8)));
          break;
        case 2:
          out.splice(at, 1 + this.int(8));
          break;
        default:
          out.length = Math.min(out.length, at);
      }
    }
    return Uint8Array.from(out);
  }

  /** Connect JSON for this type: the random message as JSON when it decodes, sometimes mangled; else random JSON. */
  json(schema: DescMessage): Uint8Array {
    let text: string;
    try {
      text = toJsonString(schema, fromBinary(schema, this.message(schema)));
    } catch {
      text = JSON.stringify(this.jsonValue(3));
    }
    if (this.next() < 0.3) {
      const chars = [...text];
      chars.splice(this.int(chars.length + 1), this.int(3), this.pick(["{", "}", '"', ",", "1e999", "null", "[", "\\u"]));
      text = chars.join("");
    }
    return new TextEncoder().encode(text);
  }

  private jsonValue(depth: number): unknown {
    const kind = depth > 0 ? this.int(6) : this.int(4);
    if (kind === 0) return this.pick([null, true, -1, 1e300, "9999999999999999999999"]);
    if (kind === 1) return this.text();
    if (kind === 2) return this.int(1000);
    if (kind === 3) return this.pick(["1970-01-01T00:00:00Z", "10000-01-01T00:00:00Z", "-5s", "99999999999s"]);
    if (kind === 4) return Array.from({ length: this.int(4) }, () => this.jsonValue(depth - 1));
    return Object.fromEntries(Array.from({ length: this.int(4) }, () => [this.text().slice(0, 10), this.jsonValue(depth - 1)]));
  }
}
