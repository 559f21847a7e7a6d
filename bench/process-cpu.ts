/**
 * CPU spent by this process (every thread) and by its child processes — DynamoDB Local's JVM — read
 * from /proc on Linux. A wall time on a machine whose cores other work shares is stretched by
 * whatever else runs; the CPU a stretch of work burns is not, so it stands beside the wall-time
 * ratios as the figure that other load does not move.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks a second, for /proc's utime and stime. */
let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime + stime of a process, in milliseconds, or 0 when it is gone. */
function processCpuMs(pid: string): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after it start past its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks();
  } catch {
    return 0;
  }
}

/** Direct children of this process. */
function children(): string[] {
  try {
    return readdirSync('/proc/self/task').flatMap((task) =>
      readFileSync(`/proc/self/task/${task}/children`, 'utf8')
        .split(' ')
        .filter((pid) => pid.trim() !== ''),
    );
  } catch {
    return [];
  }
}

export interface CpuSample {
  /** This process, every thread. */
  readonly selfMs: number;
  /** Its child processes (DynamoDB Local). */
  readonly childrenMs: number;
}

export function sampleCpu(): CpuSample {
  const own = process.cpuUsage();
  return { selfMs: (own.user + own.system) / 1000, childrenMs: children().reduce((sum, pid) => sum + processCpuMs(pid), 0) };
}

/** CPU spent between two samples, this process and its children together (ms). */
export function cpuBetween(before: CpuSample, after: CpuSample): number {
  return Math.round(after.selfMs - before.selfMs + (after.childrenMs - before.childrenMs));
}
