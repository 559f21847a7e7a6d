/**
 * `--faults duplicate=P,crash=P,throttle=P,poison=P,planner-duplicate=P,reorder[=P],lose=P`: which faults
 * a run injects, each with the probability it strikes at its decision point.
 */
import { UsageError } from './errors.ts';
import type { FaultCounts } from './summary.ts';

/** Probability per decision point: per applier delivery (duplicate, crash, reorder), per record (lose), per invocation (throttle), per interval (poison, planner-duplicate). */
export type FaultSettings = Readonly<Record<keyof FaultCounts, number>>;

/** The spelling on the command line of each fault kind. */
const KINDS: Readonly<Record<string, keyof FaultCounts>> = {
  duplicate: 'duplicate',
  crash: 'crash',
  throttle: 'throttle',
  poison: 'poison',
  'planner-duplicate': 'plannerDuplicate',
  reorder: 'reorder',
  lose: 'lose',
};

/** Kinds that may be named without `=P`, meaning "always". */
const ALWAYS_ALLOWED: ReadonlySet<string> = new Set(['reorder']);

export const NO_FAULTS: FaultSettings = { duplicate: 0, crash: 0, throttle: 0, poison: 0, plannerDuplicate: 0, reorder: 0, lose: 0 };

/** Parses the `--faults` value; @throws UsageError naming the bad kind or probability. */
export function parseFaults(text: string): FaultSettings {
  const settings: Record<keyof FaultCounts, number> = { ...NO_FAULTS };
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === 'none') return settings;
  const known = Object.keys(KINDS).join(', ');
  for (const part of trimmed.split(',')) {
    const [name = '', probability, ...rest] = part.trim().split('=');
    const kind = KINDS[name];
    if (kind === undefined) throw new UsageError(`--faults: unknown fault kind ${JSON.stringify(name)} (known: ${known})`);
    if (rest.length > 0) throw new UsageError(`--faults: ${JSON.stringify(part)} is not kind=P`);
    if (probability === undefined) {
      if (!ALWAYS_ALLOWED.has(name)) throw new UsageError(`--faults: ${name} needs a probability, as in ${name}=0.1`);
      settings[kind] = 1;
      continue;
    }
    const p = probability.trim() === '' ? Number.NaN : Number(probability);
    if (!Number.isFinite(p) || p < 0 || p > 1) {
      throw new UsageError(`--faults: the probability of ${name} must be a number in [0, 1] (got ${JSON.stringify(probability)})`);
    }
    settings[kind] = p;
  }
  return settings;
}

/** The settings in `--faults` syntax (only the kinds that are on); '' when none. */
export function formatFaults(settings: FaultSettings): string {
  return Object.entries(KINDS)
    .filter(([, kind]) => settings[kind] > 0)
    .map(([name, kind]) => `${name}=${settings[kind]}`)
    .join(',');
}
