import { type DescMessage, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

/**
 * Wire bytes remembered per message object, for responses that are sent again and again
 * unchanged. Such messages are never modified after they are encoded. Only the native gRPC
 * server reads these; the Connect router encodes as usual, with the same result.
 */
const encodings = new WeakMap<object, Uint8Array>();

export const encodingOf = (message: object) => encodings.get(message);

/** Encodes the message once; later serializations of the same object reuse the bytes. */
export function encodeOnce<D extends DescMessage>(schema: D, message: MessageShape<D>): Uint8Array {
  let bytes = encodings.get(message);
  if (!bytes) {
    bytes = toBinary(schema, message);
    encodings.set(message, bytes);
  }
  return bytes;
}

/** Gives `message` its wire bytes, written by the caller: what `toBinary` would write for it, or bytes that decode to it. */
export function withEncoding<T extends object>(message: T, bytes: Uint8Array): T {
  encodings.set(message, bytes);
  return message;
}

/**
 * Gives `message` its wire bytes, written by the caller, and makes its field `field` only when
 * something reads it: the native gRPC server sends the bytes and never does, so a large answer is
 * not built twice; the Connect router reads the field and encodes it as usual.
 */
export function withEncodingAndLazyField<T extends object, K extends keyof T>(message: T, field: K, make: () => T[K], bytes: Uint8Array): T {
  const settle = (value: T[K]) => Object.defineProperty(message, field, { value, writable: true, enumerable: true, configurable: true });
  Object.defineProperty(message, field, {
    enumerable: true,
    configurable: true,
    get() {
      const value = make();
      settle(value);
      return value;
    },
    set: settle,
  });
  return withEncoding(message, bytes);
}

/**
 * Gives `message` the encoding of a repeated message field whose elements are encoded
 * already: protobuf allows a message to be written as the concatenation of its fields.
 */
export function withRepeatedFieldEncoding<T extends object, D extends DescMessage>(
  message: T,
  fieldNumber: number,
  schema: D,
  elements: readonly MessageShape<D>[],
): T {
  const writer = new BinaryWriter();
  for (const element of elements) writer.tag(fieldNumber, WireType.LengthDelimited).bytes(encodeOnce(schema, element));
  encodings.set(message, writer.finish());
  return message;
}
