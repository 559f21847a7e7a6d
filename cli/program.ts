/**
 * `microbatch`: one command line for a deployed stack (`--stack NAME`) or a local one (`--local`).
 * Global options live here; each command is a module of `commands/` that registers itself.
 */
import { Command, Option } from 'commander';
import { DEFAULT_LOCAL_STATE_FILE, resolveDeployment, type Deployment } from './deployment.ts';
import { createOutput, type Output } from './output.ts';

/** What every command gets: the deployment the global options name, and where to print. */
export interface CommandContext {
  /** Resolved on first use, so `--help` and `up` need no deployment. */
  deployment(): Promise<Deployment>;
  output(): Output;
  /** The global options as given, for commands that need more than the deployment. */
  readonly globals: () => GlobalOptions;
}

export interface GlobalOptions {
  readonly stack?: string;
  /** `--local`, or the file `--state-file` names. */
  readonly local?: string | boolean;
  readonly region?: string;
  readonly json: boolean;
}

export type RegisterCommand = (program: Command, context: CommandContext) => void;

export function buildProgram(commands: readonly RegisterCommand[]): Command {
  const program = new Command('microbatch')
    .description('Run and inspect Microbatch Sync: a deployed stack (--stack NAME) or a local one (--local, started by `microbatch up`)')
    .addOption(new Option('--stack <name>', 'a deployed stack, found from its CloudFormation outputs (standard AWS credentials and region)'))
    // A flag, not `--local [file]`: an optional value is greedy, and `--local nodes list` took `nodes` for the file.
    .addOption(new Option('--local', 'the local system `microbatch up` started (found through its state file)'))
    .addOption(new Option('--state-file <file>', `the state file \`up\` writes and --local reads (default ${DEFAULT_LOCAL_STATE_FILE}); implies --local`))
    .addOption(new Option('--region <region>', 'the AWS region of --stack (default: the standard chain: AWS_REGION, the profile)'))
    .option('--json', 'print the result as JSON', false)
    .showHelpAfterError()
    .exitOverride();
  const globals = (): GlobalOptions => {
    const { stateFile, ...options } = program.opts<GlobalOptions & { stateFile?: string }>();
    return stateFile === undefined ? options : { ...options, local: stateFile };
  };
  let deployment: Promise<Deployment> | undefined;
  const context: CommandContext = {
    deployment: () => (deployment ??= resolveDeployment(globals())),
    output: () => createOutput(globals().json),
    globals,
  };
  for (const register of commands) register(program, context);
  return program;
}
