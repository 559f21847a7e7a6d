/**
 * DynamoDB's rule for the size of an item, applied to items as they travel on the wire (the JSON
 * protocol's attribute values: `{ "S": "…" }`, `{ "N": "12" }`, `{ "M": { … } }`), because the
 * capacity meter reads them from the requests the code makes. AWS, "DynamoDB item sizes and
 * formats" (CapacityUnitCalculations):
 *
 *   - an item is the sum of its attribute names (UTF-8 bytes) and values;
 *   - a string: its UTF-8 bytes; a binary: its raw bytes (the wire carries base64);
 *   - a number: 1 byte per two significant digits, plus 1 (leading and trailing zeros trimmed);
 *   - a Boolean or null: 1 byte;
 *   - a List or Map: 3 bytes, plus each element's size, plus 1 byte per element (a map's element
 *     counts its name too).
 *
 * shared/domain/item-size.ts applies the same rule to the flat items ingest writes, at their widest
 * (every digit of a number counted), to refuse what DynamoDB would refuse; here the figure is the
 * one DynamoDB bills, so significant digits are counted as DynamoDB counts them.
 */

/** An attribute value as the DynamoDB JSON protocol spells it. */
export type WireValue =
  | { readonly S: string }
  | { readonly N: string }
  | { readonly B: string }
  | { readonly BOOL: boolean }
  | { readonly NULL: true }
  | { readonly SS: readonly string[] }
  | { readonly NS: readonly string[] }
  | { readonly BS: readonly string[] }
  | { readonly L: readonly WireValue[] }
  | { readonly M: WireItem };

/** An item (or a map's members) on the wire. */
export type WireItem = Readonly<Record<string, WireValue>>;

/** Bytes a List or Map costs beyond its elements, and each element beyond its own size. */
const CONTAINER_OVERHEAD = 3;
const ELEMENT_OVERHEAD = 1;

function utf8(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** The significant digits of a DynamoDB number ("-0012.3400" has 4; "1e+21" has 1). */
export function significantDigits(number: string): number {
  const mantissa = number.replace(/^[+-]/, '').split(/e/i)[0] ?? '';
  const digits = mantissa.replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return digits.length;
}

/** A number's bytes: one per two significant digits, plus one. */
export function numberBytes(number: string): number {
  return 1 + Math.ceil(significantDigits(number) / 2);
}

/** The bytes of one attribute value (its name not included). */
export function valueBytes(value: WireValue): number {
  if ('S' in value) return utf8(value.S);
  if ('N' in value) return numberBytes(value.N);
  if ('B' in value) return Buffer.from(value.B, 'base64').length;
  if ('BOOL' in value || 'NULL' in value) return 1;
  if ('SS' in value) return value.SS.reduce((sum, element) => sum + utf8(element), 0);
  if ('NS' in value) return value.NS.reduce((sum, element) => sum + numberBytes(element), 0);
  if ('BS' in value) return value.BS.reduce((sum, element) => sum + Buffer.from(element, 'base64').length, 0);
  if ('L' in value) return CONTAINER_OVERHEAD + value.L.reduce((sum, element) => sum + ELEMENT_OVERHEAD + valueBytes(element), 0);
  return CONTAINER_OVERHEAD + Object.entries(value.M).reduce((sum, [name, element]) => sum + ELEMENT_OVERHEAD + utf8(name) + valueBytes(element), 0);
}

/** An item's size: every attribute's name and value. */
export function itemBytes(item: WireItem): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) bytes += utf8(name) + valueBytes(value);
  return bytes;
}

/**
 * A JavaScript value as the document client marshals it (strings, finite numbers, booleans, null,
 * arrays as lists, plain objects as maps; undefined members dropped, as `removeUndefinedValues`).
 */
export function toWireValue(value: unknown): WireValue {
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'number') return { N: String(value) };
  if (typeof value === 'boolean') return { BOOL: value };
  if (value === null) return { NULL: true };
  if (Array.isArray(value)) return { L: value.map(toWireValue) };
  if (typeof value === 'object') return { M: toWireItem(value as Record<string, unknown>) };
  throw new TypeError(`cannot marshal a ${typeof value}`);
}

/** An object's members as a wire item (see {@link toWireValue}). */
export function toWireItem(fields: Readonly<Record<string, unknown>>): WireItem {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined).map(([name, value]) => [name, toWireValue(value)]));
}

/**
 * The size of a plain item of strings, numbers and Booleans, as {@link itemBytes} of its wire form
 * would give, without building the wire form: the benchmarks size a million generated items.
 */
export function plainItemBytes(fields: Readonly<Record<string, unknown>>): number {
  let bytes = 0;
  for (const name in fields) {
    const value = fields[name];
    if (value === undefined) continue;
    bytes += utf8(name);
    if (typeof value === 'string') bytes += utf8(value);
    else if (typeof value === 'number') bytes += numberBytes(String(value));
    else if (typeof value === 'boolean') bytes += 1;
    else throw new TypeError(`plainItemBytes takes strings, numbers and Booleans, not ${typeof value} (${name})`);
  }
  return bytes;
}
