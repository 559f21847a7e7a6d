/**
 * What a command prints: a table or lines for a person, the same result as JSON with `--json`
 * (stdout only ever carries the result; progress and warnings go to stderr).
 */
import Table from 'cli-table3';

export interface Output {
  readonly json: boolean;
  /** Prints `value` as JSON with `--json`, else as `human(value)`. */
  result<T>(value: T, human: (value: T) => string): void;
  /** A line for a person on stderr (progress, notes); silent with `--json` unless `always`. */
  note(line: string, always?: boolean): void;
}

export function createOutput(json: boolean, streams: { readonly stdout: NodeJS.WritableStream; readonly stderr: NodeJS.WritableStream } = process): Output {
  return {
    json,
    result(value, human) {
      streams.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human(value)}\n`);
    },
    note(line, always = false) {
      if (!json || always) streams.stderr.write(`${line}\n`);
    },
  };
}

/** A console table as the local runtime draws them. */
export function table(head: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const drawn = new Table({ head: [...head], style: { head: [], border: [] } });
  for (const row of rows) drawn.push(row.map(String));
  return drawn.toString();
}
