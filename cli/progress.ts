/**
 * A progress bar for long work (cli-progress) on stderr, so stdout carries only the result. Hidden
 * with `--json` and when stderr is not a terminal (a pipe, a CI log, a test): a bar redrawn into a
 * file is noise.
 */
import { Presets, SingleBar } from 'cli-progress';

export interface Progress {
  /** Moves the bar by `delta` units, with `detail` shown after it. */
  advance(delta: number, detail?: string): void;
  /** Sets a new total (work found along the way). */
  grow(total: number): void;
  stop(): void;
}

const SILENT: Progress = { advance: () => undefined, grow: () => undefined, stop: () => undefined };

/** A bar of `total` `units` on `stream`, or one that draws nothing when it should be hidden. */
export function progressBar(
  total: number,
  units: string,
  options: { readonly json: boolean; readonly stream?: NodeJS.WriteStream },
): Progress {
  const stream = options.stream ?? process.stderr;
  if (options.json || !stream.isTTY) return SILENT;
  const bar = new SingleBar(
    { stream, format: `{bar} {percentage}% | {value}/{total} ${units} | {detail}`, hideCursor: true, clearOnComplete: true },
    Presets.shades_classic,
  );
  bar.start(total, 0, { detail: '' });
  return {
    advance(delta, detail = '') {
      bar.increment(delta, { detail });
    },
    grow(next) {
      bar.setTotal(next);
    },
    stop() {
      bar.stop();
    },
  };
}
