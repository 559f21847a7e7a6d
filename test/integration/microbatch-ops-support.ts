/**
 * What the integration tests of `microbatch up|nodes|status|plan` share: `main` run in process with
 * its stdout and stderr captured, and a local deployment's state file on the integration emulators.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vi } from 'vitest';
import { validateSettings, type SyncSettings } from '#shared/domain/config.ts';
import { localState, writeLocalState } from '#local/microbatch/deployment.ts';
import { main } from '#local/microbatch/main.ts';
import { createResources, type LocalResources } from '#local/resources.ts';
import type { EmulatorClients } from './support.ts';

export interface CliOutcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `npx microbatch …args` in this process, its output captured. */
export async function microbatch(...args: string[]): Promise<CliOutcome> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = undefined;
  }
}

export interface LocalFixture {
  readonly stateFile: string;
  readonly resources: LocalResources;
  readonly settings: Readonly<SyncSettings>;
  remove(): Promise<void>;
}

/** Fresh tables and queues on the emulators, and a state file `--state-file` points at. */
export async function localFixture(clients: EmulatorClients, prefix: string, settings = validateSettings({ intervalSeconds: 60, batchSize: 10 }, 'local')): Promise<LocalFixture> {
  const resources = await createResources({ dynamodb: clients.dynamodb, sqs: clients.sqs }, { prefix });
  const folder = await mkdtemp(join(tmpdir(), 'microbatch-'));
  const stateFile = join(folder, 'state.json');
  writeLocalState(localState({ endpoints: clients.endpoints, resources, settings }), stateFile);
  return { stateFile, resources, settings, remove: () => rm(folder, { recursive: true, force: true }) };
}
