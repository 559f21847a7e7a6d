/** The stop of a long-running command: Ctrl-C, or its output gone. */

/** Why the command stops (`SIGINT`, `stdout closed (EPIPE)`), once it should; `signal` aborts then too. */
export interface StopRequests {
  readonly received: Promise<string>;
  readonly signal: AbortSignal;
  /** Takes the listeners away, for a command that did not start. */
  dispose(): void;
}

/**
 * What stops a long-running command (`up`, `status --watch`), from now on: the first SIGINT or
 * SIGTERM, or stdout or stderr failing — EPIPE, the reader of `up | tee` or `status --watch | head`
 * gone, when the default would crash with a stack trace on the next write (and leave `up`'s state
 * file behind). The listeners stay for the rest of the process: a repeated signal is swallowed
 * (under npx one Ctrl-C arrives twice, the terminal's and the one npm forwards, and the default
 * action of the second would kill `up` in the middle of stopping), and a write to a closed pipe
 * fails quietly.
 */
export function stopRequests(): StopRequests {
  const controller = new AbortController();
  let resolveReceived: (reason: string) => void = () => undefined;
  const received = new Promise<string>((resolve) => {
    resolveReceived = resolve;
  });
  const stop = (reason: string): void => {
    if (controller.signal.aborted) return;
    controller.abort(reason);
    resolveReceived(reason);
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    stop(signal);
  };
  const outputs = (['stdout', 'stderr'] as const).map((name) => ({
    stream: process[name],
    onError: (error: NodeJS.ErrnoException) => {
      stop(`${name} closed (${error.code ?? error.message})`);
    },
  }));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  for (const { stream, onError } of outputs) stream.on('error', onError);
  return {
    received,
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      for (const { stream, onError } of outputs) stream.off('error', onError);
    },
  };
}
