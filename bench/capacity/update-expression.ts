/**
 * An UpdateItem's effect on an item, so that the meter knows the item's size after the update:
 * DynamoDB bills an update by the larger of the item before and after it. The expressions this
 * codebase writes are top-level `SET a = :v`, `SET a = if_not_exists(a, :v) + :w`, `ADD a :n` and
 * `REMOVE a`; that subset (with `list_append`, `-` and `DELETE` from a set) is evaluated, and any
 * other form — a nested path, a function it does not know — throws, so a new expression cannot be
 * billed wrongly without notice.
 */
import type { WireItem, WireValue } from './attribute-size.ts';

export class UnsupportedExpressionError extends Error {
  constructor(expression: string, detail: string) {
    super(`cannot evaluate the update expression "${expression}": ${detail}`);
    this.name = new.target.name;
  }
}

interface Placeholders {
  readonly names: Readonly<Record<string, string>>;
  readonly values: Readonly<Record<string, WireValue>>;
}

const CLAUSE = /\b(SET|REMOVE|ADD|DELETE)\b/gi;

/** The item after `expression` (with its placeholders) is applied to `item` (its key attributes at least). */
export function applyUpdateExpression(item: WireItem, expression: string, placeholders: Placeholders): WireItem {
  const fail = (detail: string): never => {
    throw new UnsupportedExpressionError(expression, detail);
  };
  const result = new Map<string, WireValue>(Object.entries(item));
  const parts = expression.split(CLAUSE);
  if ((parts[0] ?? '').trim() !== '') fail('text before the first clause');
  for (let index = 1; index < parts.length; index += 2) {
    const keyword = (parts[index] ?? '').toUpperCase();
    const actions = splitTopLevel(parts[index + 1] ?? '');
    for (const action of actions) {
      if (keyword === 'SET') {
        const [path, value] = splitOnce(action, '=') ?? fail(`"${action}" is not an assignment`);
        result.set(attributeName(path, placeholders, fail), evaluate(value, item, placeholders, fail));
      } else if (keyword === 'REMOVE') {
        result.delete(attributeName(action, placeholders, fail));
      } else {
        const [path, operand] = splitOnce(action, ' ') ?? fail(`"${action}" needs a path and a value`);
        const name = attributeName(path, placeholders, fail);
        const current = item[name];
        const given = evaluate(operand, item, placeholders, fail);
        const updated = keyword === 'ADD' ? add(current, given, fail) : removeFromSet(current, given, fail);
        // A set left empty is removed: DynamoDB stores no empty sets.
        if (isEmptySet(updated)) result.delete(name);
        else result.set(name, updated);
      }
    }
  }
  return Object.fromEntries(result);
}

/** Splits on commas outside parentheses. */
function splitTopLevel(text: string): string[] {
  const pieces: string[] = [];
  let depth = 0;
  let start = 0;
  for (let index = 0; index < text.length; index += 1) {
    const character = text[index];
    if (character === '(') depth += 1;
    else if (character === ')') depth -= 1;
    else if (character === ',' && depth === 0) {
      pieces.push(text.slice(start, index));
      start = index + 1;
    }
  }
  pieces.push(text.slice(start));
  return pieces.map((piece) => piece.trim()).filter((piece) => piece !== '');
}

function splitOnce(text: string, separator: string): [string, string] | undefined {
  const at = text.indexOf(separator);
  return at < 0 ? undefined : [text.slice(0, at).trim(), text.slice(at + separator.length).trim()];
}

function attributeName(path: string, placeholders: Placeholders, fail: (detail: string) => never): string {
  const trimmed = path.trim();
  if (/[.[\]]/.test(trimmed)) fail(`nested path ${trimmed}`);
  if (trimmed.startsWith('#')) return placeholders.names[trimmed] ?? fail(`no name for ${trimmed}`);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(trimmed)) fail(`"${trimmed}" is not an attribute name`);
  return trimmed;
}

/** A SET value: operand, or operand + operand, or operand - operand. */
function evaluate(text: string, item: WireItem, placeholders: Placeholders, fail: (detail: string) => never): WireValue {
  const operator = topLevelOperator(text);
  if (operator === undefined) return operand(text, item, placeholders, fail);
  const left = number(operand(text.slice(0, operator.at), item, placeholders, fail), fail);
  const right = number(operand(text.slice(operator.at + 1), item, placeholders, fail), fail);
  return { N: String(operator.sign === '+' ? left + right : left - right) };
}

function topLevelOperator(text: string): { readonly at: number; readonly sign: '+' | '-' } | undefined {
  let depth = 0;
  for (let index = 0; index < text.length; index += 1) {
    const character = text[index];
    if (character === '(') depth += 1;
    else if (character === ')') depth -= 1;
    else if ((character === '+' || character === '-') && depth === 0) return { at: index, sign: character };
  }
  return undefined;
}

function operand(text: string, item: WireItem, placeholders: Placeholders, fail: (detail: string) => never): WireValue {
  const trimmed = text.trim();
  if (trimmed.startsWith(':')) return placeholders.values[trimmed] ?? fail(`no value for ${trimmed}`);
  const call = /^(\w+)\s*\((.*)\)$/s.exec(trimmed);
  if (call !== null) {
    const [, name = '', inner = ''] = call;
    const args = splitTopLevel(inner);
    const [first = '', second = ''] = args;
    if (args.length !== 2) fail(`${name} takes two arguments`);
    if (name === 'if_not_exists') return item[attributeName(first, placeholders, fail)] ?? operand(second, item, placeholders, fail);
    if (name === 'list_append') {
      const head = operand(first, item, placeholders, fail);
      const tail = operand(second, item, placeholders, fail);
      if (!('L' in head) || !('L' in tail)) fail('list_append takes two lists');
      return { L: [...(head as { L: readonly WireValue[] }).L, ...(tail as { L: readonly WireValue[] }).L] };
    }
    fail(`unknown function ${name}`);
  }
  const name = attributeName(trimmed, placeholders, fail);
  return item[name] ?? fail(`${trimmed} is not in the item`);
}

function number(value: WireValue, fail: (detail: string) => never): number {
  if (!('N' in value)) return fail('arithmetic on a value that is not a number');
  return Number(value.N);
}

function add(current: WireValue | undefined, given: WireValue, fail: (detail: string) => never): WireValue {
  if ('N' in given) return { N: String((current === undefined ? 0 : number(current, fail)) + Number(given.N)) };
  if ('SS' in given) return { SS: [...new Set([...(current !== undefined && 'SS' in current ? current.SS : []), ...given.SS])] };
  if ('NS' in given) return { NS: [...new Set([...(current !== undefined && 'NS' in current ? current.NS : []), ...given.NS])] };
  return fail('ADD takes a number or a set');
}

function isEmptySet(value: WireValue): boolean {
  return ('SS' in value && value.SS.length === 0) || ('NS' in value && value.NS.length === 0);
}

function removeFromSet(current: WireValue | undefined, given: WireValue, fail: (detail: string) => never): WireValue {
  if (current !== undefined && 'SS' in current && 'SS' in given) return { SS: current.SS.filter((element) => !given.SS.includes(element)) };
  if (current !== undefined && 'NS' in current && 'NS' in given) return { NS: current.NS.filter((element) => !given.NS.includes(element)) };
  return fail('DELETE takes a set the item holds');
}
