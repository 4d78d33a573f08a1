import { type DescMessage, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

/**
 * Wire bytes remembered on a message object, for responses that are sent again and again
 * unchanged, or written by hand. Such messages are never modified after they are encoded. Only
 * the native gRPC server reads these; the Connect router encodes as usual, with the same result.
 *
 * The bytes are a property of the message, not an entry of a WeakMap: answers written by hand are
 * new objects every call (EncodedInit below), and a WeakMap entry for each cost more CPU than
 * writing their bytes and burdened every garbage collection. On a message the property is not
 * enumerable, so copies, comparisons and spreads of the message do not see it.
 */
const WIRE_BYTES = Symbol("wire bytes");

export const encodingOf = (message: object): Uint8Array | undefined => (message as { [WIRE_BYTES]?: Uint8Array })[WIRE_BYTES];

/** Encodes the message once; later serializations of the same object reuse the bytes. */
export function encodeOnce<D extends DescMessage>(schema: D, message: MessageShape<D>): Uint8Array {
  return encodingOf(message) ?? remember(message, toBinary(schema, message));
}

/**
 * Kept as a Buffer, which is what grpc-js sends: a view made once here rather than for every
 * call that sends the same answer again.
 */
function remember(message: object, bytes: Uint8Array) {
  const buffer = asBuffer(bytes);
  Object.defineProperty(message, WIRE_BYTES, { value: buffer, configurable: true });
  return buffer;
}

/** The same bytes seen as a Buffer, without copying them. */
export const asBuffer = (bytes: Uint8Array): Buffer => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));

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
  remember(message, bytes);
  return message;
}

/**
 * An answer that is not a message but what a message is made of (a protobuf-es init object), with
 * its wire bytes written by hand: the native gRPC server sends the bytes, and the Connect router
 * makes the message (create() reads its fields) only for a transport that encodes it. Made for
 * every call, so its bytes are a field set in the constructor, which costs a fraction of giving a
 * new object a property. Unlike a message, such an answer is never copied or changed.
 */
export abstract class EncodedInit {
  readonly [WIRE_BYTES]: Buffer;

  constructor(bytes: Uint8Array) {
    this[WIRE_BYTES] = asBuffer(bytes);
  }
}

/** A message, or an EncodedInit of one: what a handler may answer with its bytes known. */
type Encoded<D extends DescMessage> = MessageShape<D> | EncodedInit;

/**
 * The encoding of a message whose one field is a repeated message field of these elements, each
 * encoded already (or a message, encoded here): protobuf allows a message to be written as the
 * concatenation of its fields.
 */
export function repeatedFieldEncoding<D extends DescMessage>(fieldNumber: number, schema: D, elements: readonly Encoded<D>[]): Uint8Array {
  const writer = new BinaryWriter();
  for (const element of elements)
    writer.tag(fieldNumber, WireType.LengthDelimited).bytes(element instanceof EncodedInit ? element[WIRE_BYTES] : encodeOnce(schema, element));
  return writer.finish();
}
