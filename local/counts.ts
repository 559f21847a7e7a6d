/**
 * How a count is written for a person, in the console, the report and the operator command line
 * alike: 12,345, and a noun that agrees with it ("1 microbatch", "6 microbatches").
 */

const COUNT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** 12,345 — or a dash for a value that is not a finite number. */
export function count(value: number): string {
  return Number.isFinite(value) ? COUNT.format(value) : '—';
}

/** "1 node", "6 nodes"; `many` for the nouns that do not just add an s ("1 microbatch", "2 microbatches"). */
export function plural(value: number, one: string, many = `${one}s`): string {
  return `${count(value)} ${value === 1 ? one : many}`;
}
