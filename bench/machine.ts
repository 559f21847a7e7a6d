/**
 * The machine a benchmark ran on. Ratios measured side by side in one run travel between machines;
 * absolute times do not, so results carry where they were taken — and how busy the machine was.
 */
import { cpus, loadavg, release, totalmem, type } from 'node:os';

export interface Machine {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGb: number;
  readonly node: string;
  readonly os: string;
  /** When the run started (ISO 8601). */
  readonly date: string;
  /** The 1-minute load average when the run started and when it ended: other work sharing the cores. */
  readonly loadAverage: { readonly start: number; readonly end?: number };
}

export function describeMachine(): Machine {
  const processors = cpus();
  return {
    cpuModel: processors[0]?.model.trim() ?? 'unknown',
    cores: processors.length,
    memoryGb: Number((totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    os: `${type()} ${release()}`,
    date: new Date().toISOString(),
    loadAverage: { start: Number((loadavg()[0] ?? 0).toFixed(2)) },
  };
}

/** `machine` with the load average at the end of the run. */
export function finished(machine: Machine): Machine {
  return { ...machine, loadAverage: { ...machine.loadAverage, end: Number((loadavg()[0] ?? 0).toFixed(2)) } };
}
