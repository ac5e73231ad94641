// Plain data in Python's marshal format, read with PyMarshal_ReadObjectFromString: how the adapter's
// configuration reaches each interpreter as a dict without the interpreter importing json (json and
// the re it imports took ~5 ms of every new interpreter's start). Only the type codes below, which
// every Python from 3.4 on reads alike (Python/marshal.c).

export type MarshalValue = null | undefined | boolean | number | string | MarshalValue[] | { [key: string]: MarshalValue };

const NONE = 0x4e; // 'N'
const TRUE = 0x54; // 'T'
const FALSE = 0x46; // 'F'
const INT = 0x69; // 'i': a signed 32-bit integer
const FLOAT = 0x67; // 'g': a binary double
const UNICODE = 0x75; // 'u': a byte length, then UTF-8
const LIST = 0x5b; // '[': a count, then the items
const DICT = 0x7b; // '{': key, value... then NULL
const NULL = 0x30; // '0'

export function marshal(value: MarshalValue): Uint8Array {
  const parts: number[] = [];
  write(value, parts);
  return Uint8Array.from(parts);
}

function write(value: MarshalValue, out: number[]): void {
  if (value === null || value === undefined) out.push(NONE);
  else if (value === true) out.push(TRUE);
  else if (value === false) out.push(FALSE);
  else if (typeof value === "number") {
    if (Number.isInteger(value) && value >= -0x8000_0000 && value <= 0x7fff_ffff) {
      out.push(INT);
      int32(value, out);
    } else {
      // Integers past 32 bits too (the configuration has none): a float compares equal in Python.
      out.push(FLOAT);
      out.push(...new Uint8Array(new Float64Array([value]).buffer)); // little-endian, as marshal's
    }
  } else if (typeof value === "string") {
    const bytes = Buffer.from(value, "utf8");
    out.push(UNICODE);
    int32(bytes.length, out);
    for (const byte of bytes) out.push(byte);
  } else if (Array.isArray(value)) {
    out.push(LIST);
    int32(value.length, out);
    for (const item of value) write(item, out);
  } else {
    out.push(DICT);
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined) continue; // as JSON.stringify: an absent key, for dict.get()
      write(key, out);
      write(item, out);
    }
    out.push(NULL);
  }
}

function int32(value: number, out: number[]): void {
  out.push(value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff);
}
