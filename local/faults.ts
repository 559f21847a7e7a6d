/**
 * The fault kinds a local run can inject, in one catalogue, and `--faults
 * duplicate=P,crash=P,throttle=P,poison=P,planner-duplicate=P,reorder[=P],lose=P`: which of them a
 * run injects, each with the probability it strikes at its decision point. The summary's counts,
 * the parser, `--help`, the closing sentence and the report all read {@link FAULTS}: a new kind is
 * one entry here plus the code that injects it.
 */
import { UsageError } from './errors.ts';

/** What each use of a fault kind needs to know about it. */
interface FaultSpec {
  /** The key of its count in the summary (`summary.json`) and of its probability in the settings. */
  readonly kind: string;
  /** Its spelling in `--faults`. */
  readonly flag: string;
  /** Whether `--faults` may name it without `=P`, meaning "always". */
  readonly bareMeansAlways: boolean;
  /**
   * Whether it strikes through the fault proxy `npm start` puts between the handlers and DynamoDB
   * Local; a run without one (`microbatch up`) cannot inject it.
   */
  readonly throughProxy: boolean;
  /** Where it strikes, after the flag in `--help`. */
  readonly help: string;
  /** What the closing sentence calls N of them ("N duplicate deliveries"). */
  readonly counted: string;
  /** The report's name for it. */
  readonly label: string;
  /** The report's name for it where space is short (the per-interval table). */
  readonly short: string;
  /** What one of them is, for the report (and for a person reading this list). */
  readonly description: string;
}

/**
 * Every fault kind, in the order the summary, `--help` and the report list them. Decision points:
 * per applier delivery (duplicate, crash, reorder), per record (lose), per invocation (throttle),
 * per interval (poison, planner-duplicate).
 */
export const FAULTS = [
  {
    kind: 'duplicate',
    flag: 'duplicate',
    bareMeansAlways: false,
    throughProxy: false,
    help: 'a batch delivered twice',
    counted: 'duplicate deliveries',
    label: 'duplicate delivery',
    short: 'dup',
    description: 'A batch delivered to the applier twice',
  },
  {
    kind: 'crash',
    flag: 'crash',
    bareMeansAlways: false,
    throughProxy: false,
    help: 'an applier result lost',
    counted: 'crashes',
    label: 'applier crash',
    short: 'crash',
    description: 'Effects kept, result lost, the batch comes back',
  },
  {
    kind: 'throttle',
    flag: 'throttle',
    bareMeansAlways: false,
    throughProxy: true,
    help: 'an invocation meets DynamoDB throttling',
    counted: 'throttled requests',
    label: 'throttled request',
    short: 'throttle',
    description: 'DynamoDB answered with a throttling error',
  },
  {
    kind: 'poison',
    flag: 'poison',
    bareMeansAlways: false,
    throughProxy: false,
    help: 'malformed messages, per interval',
    counted: 'malformed messages',
    label: 'poison message',
    short: 'poison',
    description: 'A malformed message put on the queue',
  },
  {
    kind: 'plannerDuplicate',
    flag: 'planner-duplicate',
    bareMeansAlways: false,
    throughProxy: false,
    help: 'a tick delivered twice',
    counted: 'duplicate planner ticks',
    label: 'planner duplicate',
    short: 'planner dup',
    description: 'The same planner tick delivered more than once',
  },
  {
    kind: 'reorder',
    flag: 'reorder',
    bareMeansAlways: true,
    throughProxy: false,
    help: 'a batch shuffled; alone: every batch',
    counted: 'reordered batches',
    label: 'reordered batch',
    short: 'reorder',
    description: 'Records of a batch delivered in another order',
  },
  {
    kind: 'lose',
    flag: 'lose',
    bareMeansAlways: false,
    throughProxy: false,
    help: 'a token acknowledged without being applied, as by a paused node',
    counted: 'lost tokens',
    label: 'lost token',
    short: 'lost',
    description: 'A token acknowledged without being applied (a paused node, a dead letter)',
  },
] as const satisfies readonly FaultSpec[];

/** A fault kind as the summary and the settings key it: `duplicate`, `plannerDuplicate`, … */
export type FaultKind = (typeof FAULTS)[number]['kind'];

/** Probability per decision point of each kind (see {@link FAULTS}). */
export type FaultSettings = Readonly<Record<FaultKind, number>>;

/** Each kind's value from `value(fault)`, in catalogue order. */
export function perFaultKind<T>(value: (fault: (typeof FAULTS)[number]) => T): Record<FaultKind, T> {
  return Object.fromEntries(FAULTS.map((fault) => [fault.kind, value(fault)])) as Record<FaultKind, T>;
}

/** Every kind off. */
export const NO_FAULTS: FaultSettings = perFaultKind(() => 0);

const BY_FLAG: ReadonlyMap<string, (typeof FAULTS)[number]> = new Map(FAULTS.map((fault) => [fault.flag, fault]));

/** Parses the `--faults` value; @throws UsageError naming the bad kind or probability. */
export function parseFaults(text: string): FaultSettings {
  const settings: Record<FaultKind, number> = { ...NO_FAULTS };
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === 'none') return settings;
  const known = FAULTS.map(({ flag }) => flag).join(', ');
  for (const part of trimmed.split(',')) {
    const [name = '', probability, ...rest] = part.trim().split('=');
    const fault = BY_FLAG.get(name);
    if (fault === undefined) throw new UsageError(`--faults: unknown fault kind ${JSON.stringify(name)} (known: ${known})`);
    if (rest.length > 0) throw new UsageError(`--faults: ${JSON.stringify(part)} is not kind=P`);
    if (probability === undefined) {
      if (!fault.bareMeansAlways) throw new UsageError(`--faults: ${name} needs a probability, as in ${name}=0.1`);
      settings[fault.kind] = 1;
      continue;
    }
    const p = probability.trim() === '' ? Number.NaN : Number(probability);
    if (!Number.isFinite(p) || p < 0 || p > 1) {
      throw new UsageError(`--faults: the probability of ${name} must be a number in [0, 1] (got ${JSON.stringify(probability)})`);
    }
    settings[fault.kind] = p;
  }
  return settings;
}

/** `--help`'s text for `--faults`, one clause per kind of `kinds` (default: the whole catalogue). */
export function faultsHelp(kinds: readonly (typeof FAULTS)[number][] = FAULTS): string {
  const clauses = kinds.map(({ flag, bareMeansAlways, help }) => `${flag}${bareMeansAlways ? '[=P]' : '=P'} (${help})`);
  return `faults to inject, each with a probability P in [0, 1]: ${clauses.join(', ')}`;
}

/** The settings in `--faults` syntax (only the kinds that are on); '' when none. */
export function formatFaults(settings: FaultSettings): string {
  return FAULTS.filter(({ kind }) => settings[kind] > 0)
    .map(({ flag, kind }) => `${flag}=${settings[kind]}`)
    .join(',');
}
