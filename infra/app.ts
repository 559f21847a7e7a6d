/**
 * The CDK app: the only place that reads context or the environment. It turns them into a
 * validated {@link StackConfig}, builds the stack from it and applies cdk-nag's AWS Solutions checks.
 *
 *   npx cdk synth -c microbatch-sync:intervalSeconds=120 -c microbatch-sync:removalPolicy=destroy
 *
 * A bad value fails synth with the context key in the message; see "Deploying to AWS" in README.md.
 */
import { fileURLToPath } from 'node:url';
import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError } from '#shared/domain/errors.ts';
import { appContext, loadStackConfig, type StackConfig } from './config.ts';
import { MicrobatchSyncStack } from './microbatch-sync-stack.ts';

/** Region when neither `microbatch-sync:region` nor the CLI's profile names one: synth must not depend on a profile. */
const FALLBACK_REGION = 'us-east-1';

/** What the app reads from the process environment (the CDK CLI sets both from the AWS profile). */
export interface AppEnvironment {
  readonly CDK_DEFAULT_ACCOUNT?: string | undefined;
  readonly CDK_DEFAULT_REGION?: string | undefined;
}

export interface CreatedApp {
  readonly app: App;
  readonly config: StackConfig;
  readonly stack: MicrobatchSyncStack;
}

/**
 * Builds the app. Context comes from `props.context` (tests) or from `cdk.json` and `-c` (the CLI).
 * @throws ConfigError naming the context key of the first bad value.
 */
export function createApp(props: AppProps = {}, env: AppEnvironment = process.env): CreatedApp {
  const app = new App(props);
  const config = loadStackConfig(appContext(app.node.getAllContext() as Record<string, unknown>), { region: env.CDK_DEFAULT_REGION ?? FALLBACK_REGION });
  const stack = new MicrobatchSyncStack(app, config.stackName, {
    config,
    env: { region: config.region, ...(env.CDK_DEFAULT_ACCOUNT === undefined ? {} : { account: env.CDK_DEFAULT_ACCOUNT }) },
    description: `Microbatch Sync for stream ${config.settings.stream}: keeps nodes consistent with one ordered log`,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, config, stack };
}

// Run as the CDK app (not imported by a test). `import.meta.main` would do, but needs Node ≥ 22.18,
// and a globally installed CLI may run the app with an older `node` from the PATH.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    createApp();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // The message names the context key; a stack trace would only bury it.
    process.stderr.write(`Invalid configuration: ${error.message}\n`);
    process.exit(1);
  }
}
