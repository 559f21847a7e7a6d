/**
 * What the integration tests of `microbatch up|nodes|status|plan` share: `main` run in process with
 * its stdout and stderr captured (test/support/microbatch-cli.ts), and a local deployment's state file on the integration emulators.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateSettings, type SyncSettings } from '#shared/domain/config.ts';
import { localState, writeLocalState } from '#cli/deployment.ts';
import { createResources, type LocalResources } from '#local/resources.ts';
import type { EmulatorClients } from './support.ts';

export { microbatch, type CliOutcome } from '#test/support/microbatch-cli.ts';

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
