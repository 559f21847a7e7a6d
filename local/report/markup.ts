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

/**
 * A whole self-contained page: the strict Content-Security-Policy (no scripts, no requests), the
 * report's stylesheet inlined, and `body` inside `<main>`. The run report and `microbatch advise
 * --html` are both this shell.
 */
export function htmlPage(title: Fragment, stylesheet: string, body: Fragment): Markup {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${title}</title>
<link rel="icon" href="data:,">
<style>
${raw(stylesheet)}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}
