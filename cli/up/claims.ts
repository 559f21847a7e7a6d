/**
 * One `microbatch up` per state file and per data directory. Each file `up` holds names the process
 * that holds it (`pid`): the state file `--local` reads, and the `up.lock` of a `--data-dir` (two
 * DynamoDB Locals on one directory would fight over its files). A second `up` is refused while that
 * process runs; a file whose process is gone is stale — left by an `up` that was killed — and the
 * next `up` takes it over, saying so. A pid is only a process number: after a reboot another process
 * may wear it, and the refusal says how to clear the file by hand.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from '#local/errors.ts';
import { localStateText, processRunning, reachOption, type LocalState } from '../deployment.ts';

/** What a held file says about its holder. */
export interface Holder {
  readonly pid: number;
  readonly startedAt?: string;
  /** The state file of the `up` that holds a data directory, to reach it by. */
  readonly stateFile?: string;
}

/** A running process holds a file another `up` wanted; the message says who and the ways out. */
export class FileHeldError extends UsageError {
  constructor(
    readonly file: string,
    readonly holder: Holder,
    message: string,
  ) {
    super(message);
  }
}

/** A file `up` holds, and how messages name it. */
export interface HeldFile {
  readonly path: string;
  /** Its name in a note: the state file's path, or `--data-dir DIR`. */
  readonly label: string;
  /** What to give `up` instead of it: `state file`, `--data-dir`. */
  readonly instead: string;
  /** The message refusing a second `up` while `holder` runs. */
  refusal(holder: Holder): string;
}

/** The holder `file` names; undefined when there is no file. @throws UsageError for a file that names no pid. */
export function readHolder(file: string): Holder | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let record: Partial<Record<keyof Holder, unknown>> = {};
  try {
    record = JSON.parse(text) as typeof record;
  } catch {
    // Not JSON: it names no pid either.
  }
  const { pid } = record;
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) throw new NoHolderError(file);
  return {
    pid,
    ...(typeof record.startedAt === 'string' ? { startedAt: record.startedAt } : {}),
    ...(typeof record.stateFile === 'string' ? { stateFile: record.stateFile } : {}),
  };
}

/** A file where `up` would write that names no pid: not `up`'s to overwrite. */
class NoHolderError extends UsageError {
  constructor(readonly file: string) {
    super(`${file} exists and is not a file microbatch up wrote (it names no pid)`);
  }
}

/** "pid 42, started …" */
export function describeHolder(holder: Holder): string {
  return `pid ${holder.pid}${holder.startedAt === undefined ? '' : `, started ${holder.startedAt}`}`;
}

/** The note for a stale file taken over. */
export function staleNote(file: HeldFile, holder: Holder): string {
  return `${file.label} was left by a microbatch up (${describeHolder(holder)}) that is no longer running: taking it over`;
}

/**
 * Checks that no running process holds `file`.
 * @returns the holder of a stale file, which the caller may replace; undefined for no file.
 * @throws FileHeldError while its holder runs; UsageError for a file that names no pid.
 */
export function checkFree(file: HeldFile): Holder | undefined {
  let holder: Holder | undefined;
  try {
    holder = readHolder(file.path);
  } catch (error) {
    if (error instanceof NoHolderError) throw new UsageError(`${error.message}: remove it, or give up another ${file.instead}`, { cause: error });
    throw error;
  }
  if (holder === undefined) return undefined;
  if (processRunning(holder.pid)) throw new FileHeldError(file.path, holder, file.refusal(holder));
  return holder;
}

/**
 * Creates `file` holding `content` unless a running process holds it: a stale file is replaced. The
 * creation is exclusive, so of two `up`s that get here together one wins and the other is refused.
 * @returns the stale holder replaced, if any.
 */
export function claimFile(file: HeldFile, content: string): Holder | undefined {
  mkdirSync(dirname(file.path), { recursive: true });
  let stale: Holder | undefined;
  for (;;) {
    try {
      writeFileSync(file.path, content, { flag: 'wx' });
      return stale;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    stale = checkFree(file) ?? stale;
    rmSync(file.path, { force: true });
  }
}

/** Removes `path` if this process holds it; a file another `up` has written since is left to it. */
export function releaseFile(path: string): void {
  try {
    if (readHolder(path)?.pid === process.pid) rmSync(path, { force: true });
  } catch (error) {
    // Rewritten by hand since: not ours to remove.
    if (!(error instanceof NoHolderError)) throw error;
  }
}

/** What holds a data directory while an `up` runs on it: its {@link Holder} as JSON. */
export const UP_LOCK_FILE = 'up.lock';

function stopHint(pid: number): string {
  return `stop it (Ctrl-C in its terminal, or kill -INT ${pid})`;
}

/** The state file as a file one `up` holds. */
function heldStateFile(stateFile: string): HeldFile {
  return {
    path: resolve(stateFile),
    label: stateFile,
    instead: 'state file',
    refusal: ({ pid }) =>
      `another microbatch up (pid ${pid}) is running with the state file ${stateFile}: reach it with \`npx microbatch ${reachOption(stateFile)} …\`, ${stopHint(pid)}, ` +
      `or give this one another state file: \`npx microbatch --state-file OTHER.json up\` (if pid ${pid} is no microbatch up — the machine has restarted since — remove ${stateFile})`,
  };
}

/** A data directory, through its lock, as a file one `up` holds. */
function heldDataDir(dataDir: string): HeldFile {
  const lock = join(dataDir, UP_LOCK_FILE);
  return {
    path: resolve(lock),
    label: `--data-dir ${dataDir}`,
    instead: '--data-dir',
    refusal: ({ pid, stateFile }) =>
      `--data-dir ${dataDir} is in use by another microbatch up (pid ${pid}${stateFile === undefined ? '' : `, state file ${stateFile}`}): DynamoDB Local cannot share its files; ` +
      `${stateFile === undefined ? '' : `reach that one with \`npx microbatch ${reachOption(stateFile)} …\`, `}${stopHint(pid)}, or give this one another --data-dir (if pid ${pid} is no microbatch up, remove ${lock})`,
  };
}

/** The files one `up` holds while it runs. */
export interface UpFiles {
  /** Writes the state file, exclusively: of two `up`s started together, the one that writes second is refused. */
  writeState(state: LocalState): void;
  /** Gives back what this run holds: the state file once written, the data directory. Safe to call twice; also called at the process's exit. */
  release(): void;
}

/**
 * Takes the files an `up` holds before it starts anything: refuses (FileHeldError, exit 2) while
 * another running `up` holds the state file or the data directory, and takes over what one that is
 * gone left, telling `note`. The state file is only checked here; it is written once the emulators
 * answer ({@link UpFiles.writeState}).
 */
export function holdUpFiles(stateFile: string, dataDir: string | undefined, note: (line: string) => void): UpFiles {
  const state = heldStateFile(stateFile);
  const lock = dataDir === undefined ? undefined : heldDataDir(dataDir);
  const told = (file: HeldFile, stale: Holder | undefined): void => {
    if (stale !== undefined) note(staleNote(file, stale));
  };
  told(state, checkFree(state));
  if (lock !== undefined) {
    const holder: Holder = { pid: process.pid, startedAt: new Date().toISOString(), stateFile: state.path };
    told(lock, claimFile(lock, `${JSON.stringify(holder, null, 2)}\n`));
  }
  let written = false;
  const release = (): void => {
    process.off('exit', release);
    if (written) releaseFile(state.path);
    if (lock !== undefined) releaseFile(lock.path);
  };
  // A crash still gives the files back (an exit hook may only do synchronous work).
  process.on('exit', release);
  return {
    writeState(value) {
      claimFile(state, localStateText(value));
      written = true;
    },
    release,
  };
}
