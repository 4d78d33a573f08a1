/**
 * Protobuf wire bytes written by hand, for answers whose reflective encoding cost more than the
 * work behind them (analytics pages, verification counters): sizes are counted first with the
 * functions here, then a Writer of exactly that size writes every byte once. Each caller writes
 * what `toBinary` would (fields in number order, defaults left out), and its tests compare.
 */

export const VARINT = 0;
export const LENGTH_DELIMITED = 2;

/**
 * Bytes of a varint. A negative int64 or int32 is written as its 64-bit two's complement: ten
 * bytes. Values are whole numbers; anything else is refused, as protobuf-es refuses it, rather
 * than written wrong.
 */
export function varintSize(value: number): number {
  if (!Number.isSafeInteger(value)) throw new RangeError(`a value of ${value} is not a safe integer`);
  if (value < 0) return 10;
  let size = 1;
  for (let rest = value; rest >= 128; rest = Math.floor(rest / 128)) size++;
  return size;
}

/** Bytes of a string field, left out when empty, as proto3 does. */
export const stringSize = (value: string) => {
  if (value === "") return 0;
  const length = Buffer.byteLength(value);
  return 1 + varintSize(length) + length;
};

/** Bytes of an integer field with a one-byte tag, left out when zero. */
export const integerSize = (value: number) => (value === 0 ? 0 : 1 + varintSize(value));

/** A Timestamp's seconds and nanos, as timestampFromMs makes them of milliseconds. */
export const timestampOf = (ms: number) => {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1_000_000 };
};

/** Bytes of a Timestamp's body (not its tag and length). */
export const timestampBodySize = ({ seconds, nanos }: { seconds: number; nanos: number }) => integerSize(seconds) + integerSize(nanos);

/** Writes into a Buffer of the size counted beforehand, from Node's pool: every byte of it is written. */
export class Writer {
  readonly bytes: Buffer;
  private at = 0;

  constructor(size: number) {
    this.bytes = Buffer.allocUnsafe(size);
  }

  tag(field: number, wireType: number) {
    return this.varint((field << 3) | wireType);
  }

  varint(value: number) {
    if (value < 0) {
      let rest = BigInt.asUintN(64, BigInt(value));
      for (; rest >= 128n; rest >>= 7n) this.bytes[this.at++] = Number(rest & 127n) | 128;
      this.bytes[this.at++] = Number(rest);
      return this;
    }
    let rest = value;
    while (rest >= 128) {
      this.bytes[this.at++] = (rest % 128) | 128;
      rest = Math.floor(rest / 128);
    }
    this.bytes[this.at++] = rest;
    return this;
  }

  raw(bytes: Uint8Array) {
    this.bytes.set(bytes, this.at);
    this.at += bytes.length;
    return this;
  }

  /** A string field, left out when empty, as proto3 does. */
  string(field: number, value: string) {
    if (value === "") return this;
    this.tag(field, LENGTH_DELIMITED).varint(Buffer.byteLength(value));
    this.at += this.bytes.write(value, this.at, "utf8");
    return this;
  }

  /** An integer field, left out when zero. */
  integer(field: number, value: number) {
    if (value === 0) return this;
    return this.tag(field, VARINT).varint(value);
  }

  /** A Timestamp field, always written once set, even when empty. */
  timestamp(field: number, timestamp: { seconds: number; nanos: number }) {
    return this.tag(field, LENGTH_DELIMITED).varint(timestampBodySize(timestamp)).integer(1, timestamp.seconds).integer(2, timestamp.nanos);
  }
}
