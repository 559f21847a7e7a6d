/**
 * The report's markup: the `html` tagged template that escapes every interpolated value, and the
 * `Markup` type that marks text as already safe.
 */

/** Text that is already safe HTML. Only `html` and `raw` make one. */
export class Markup {
  constructor(readonly text: string) {}
}

/** What a `${…}` in an `html` template may hold. */
export type Fragment = Markup | string | number | boolean | null | undefined | readonly Fragment[];

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character] ?? character);
}

function isFragmentList(value: Fragment): value is readonly Fragment[] {
  return Array.isArray(value);
}

/**
 * Escapes every interpolated string, joins lists, and drops null, undefined and booleans so that
 * `condition && html\`…\`` reads naturally. A non-finite number renders as a dash, never as `NaN`.
 */
function fragmentText(value: Fragment): string {
  if (value instanceof Markup) return value.text;
  if (isFragmentList(value)) return value.map(fragmentText).join('');
  if (value === null || value === undefined || typeof value === 'boolean') return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '—';
  return escapeHtml(value);
}

/** The tagged template every piece of the page is written with: `html\`<td>${value}</td>\``. */
export function html(strings: TemplateStringsArray, ...values: readonly Fragment[]): Markup {
  let text = strings[0] ?? '';
  for (const [position, value] of values.entries()) text += fragmentText(value) + (strings[position + 1] ?? '');
  return new Markup(text);
}

/** For the report's own constants (its stylesheet) only, never for data from the summary. */
export function raw(text: string): Markup {
  return new Markup(text);
}
