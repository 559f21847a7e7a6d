/**
 * One timed run of a use case against the fake AWS endpoint, as the planner and checker parts take
 * it: the CPU of this process less the endpoint's own (so the SDK's work is in, the fake's out), the
 * wall time, the calls made by operation, and the heap it grew at its peak.
 */
import type { FakeAws } from '../fake-aws/endpoint.ts';

export interface Run<T> {
  readonly result: T;
  /** CPU of this process, every thread, less the endpoint's own (ms). */
  readonly cpuMs: number;
  readonly wallMs: number;
  /** CPU the endpoint spent answering, left out of cpuMs (ms). */
  readonly serverCpuMs: number;
  /** The most heap the run held above its start, sampled every 25 ms (MB). */
  readonly heapGrowthMb: number;
  /** Calls by `Service.Operation`. */
  readonly calls: Readonly<Record<string, number>>;
}

const round = (value: number, digits = 0): number => Number(value.toFixed(digits));

/** Runs `work` once and measures it; collects garbage first (under --expose-gc) so runs start alike. */
export async function timed<T>(fake: FakeAws, work: () => Promise<T>): Promise<Run<T>> {
  globalThis.gc?.();
  const callsBefore = new Map(fake.calls);
  const heapBefore = process.memoryUsage().heapUsed;
  let heapPeak = heapBefore;
  const sampler = setInterval(() => {
    heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
  }, 25);
  const serverBefore = fake.serverCpuUs();
  const cpuBefore = fake.clientCpuUs();
  const started = performance.now();
  try {
    const result = await work();
    const wallMs = performance.now() - started;
    const cpuUs = fake.clientCpuUs() - cpuBefore;
    heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
    const calls: Record<string, number> = {};
    for (const [call, count] of fake.calls) {
      const made = count - (callsBefore.get(call) ?? 0);
      if (made > 0) calls[call] = made;
    }
    return {
      result,
      cpuMs: round(cpuUs / 1000),
      wallMs: round(wallMs),
      serverCpuMs: round((fake.serverCpuUs() - serverBefore) / 1000),
      heapGrowthMb: round((heapPeak - heapBefore) / 2 ** 20, 1),
      calls,
    };
  } finally {
    clearInterval(sampler);
  }
}

/** The run of median CPU (a busy machine's other work makes single CPU figures jump); of two, the higher. */
export function medianByCpu<T>(runs: readonly Run<T>[]): Run<T> {
  const sorted = [...runs].sort((a, b) => a.cpuMs - b.cpuMs);
  const median = sorted[Math.floor(sorted.length / 2)];
  if (median === undefined) throw new RangeError('no runs');
  return median;
}

/** The shards measured: `count` of them spread over the cut (first, middle, last), repeating when there are fewer. */
export function sampleShards(shards: number, count: number): number[] {
  if (count === 1) return [0];
  return Array.from({ length: count }, (_, index) => (shards >= count ? Math.round((index * (shards - 1)) / (count - 1)) : index % shards));
}

export function sum(values: Iterable<number>): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

export { round };
