/**
 * cdk-nag's AWS Solutions checks, as the app applies them: no finding is left unacknowledged, every
 * acknowledgement names a full finding id with a one-line reason, and each one is still needed.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createApp, type CreatedApp } from '#infra/app.ts';
import { cdkJsonContext, withPrefix, type Overrides } from './support.ts';

interface Report {
  readonly pluginReports: readonly { readonly pluginName: string; readonly violations: readonly { readonly ruleName: string; readonly severity: string; readonly violatingConstructs: readonly { readonly constructPath: string }[] }[] }[];
}

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
});

function build(overrides: Overrides = {}): CreatedApp & { outdir: string } {
  const outdir = mkdtempSync(join(tmpdir(), 'microbatch-nag-'));
  outdirs.push(outdir);
  const created = createApp(
    { context: { ...cdkJsonContext(), ...withPrefix(overrides), 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false, outdir },
    {},
  );
  return { ...created, outdir };
}

/** Synthesizes; @returns the validation report and whether synth failed. */
function synthesize(created: CreatedApp & { outdir: string }): { failed: boolean; findings: string[] } {
  let failed = false;
  try {
    created.app.synth();
  } catch {
    failed = true;
  }
  const report = JSON.parse(readFileSync(join(created.outdir, 'validation-report.json'), 'utf8')) as Report;
  const findings = report.pluginReports.flatMap((plugin) =>
    plugin.violations.flatMap((violation) => violation.violatingConstructs.map((construct) => `${violation.ruleName} ${construct.constructPath}`)),
  );
  return { failed, findings: findings.sort() };
}

/** Every acknowledgement in the tree, as `id path` → reason. */
function acknowledgements(created: CreatedApp): Record<string, string> {
  const found: Record<string, string> = {};
  for (const construct of created.app.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) found[`${id.replace(/^Annotation::/, '')} ${construct.node.path}`] = reason;
    }
  }
  return found;
}

const EXPECTED_ACKNOWLEDGEMENTS = [
  'AwsSolutions-DDB3 MicrobatchSync/Tables/ConvergenceTable',
  'AwsSolutions-DDB3 MicrobatchSync/Tables/IngestRequestsTable',
  'AwsSolutions-DDB3 MicrobatchSync/Tables/PlansTable',
  'AwsSolutions-IAM5[Resource::<CheckerFunction288BE78F.Arn>:*] MicrobatchSync/Schedules/CheckerRole',
  'AwsSolutions-IAM5[Resource::<PlannerFunctionAFCCE450.Arn>:*] MicrobatchSync/Schedules/PlannerRole',
  'AwsSolutions-SQS3 MicrobatchSync/Schedules/SchedulerDeadLetterQueue',
];

describe('cdk-nag AwsSolutionsChecks', () => {
  it.each<[string, Overrides]>([
    ['the default stack', {}],
    ['a dev stack with an alarm address and no reserved concurrency', { removalPolicy: 'destroy', alarmEmail: 'ops@example.com', ingestReservedConcurrency: 'none' }],
  ])('leaves no unacknowledged error or warning in %s', (_, overrides) => {
    expect(synthesize(build(overrides))).toEqual({ failed: false, findings: [] });
  });

  it('fails synth on a finding, so the check is really applied', () => {
    const created = build();
    new Queue(created.stack, 'PlainQueue');
    const result = synthesize(created);
    expect(result.failed).toBe(true);
    expect(result.findings).toEqual(expect.arrayContaining(['AwsSolutions-SQS4 MicrobatchSync/PlainQueue/Resource']));
  });

  it('acknowledges only these findings, each on its own construct with a one-line reason', () => {
    const found = acknowledgements(build());
    expect(Object.keys(found).sort()).toEqual(EXPECTED_ACKNOWLEDGEMENTS);
    for (const reason of Object.values(found)) {
      expect(reason.length).toBeGreaterThan(20);
      expect(reason).not.toContain('\n');
    }
  });

  it('needs every acknowledgement: without them, exactly those findings appear', () => {
    vi.spyOn(Validations.prototype, 'acknowledge').mockImplementation(() => undefined);
    const { failed, findings } = synthesize(build());
    expect(failed).toBe(true);
    expect(findings).toEqual([
      'AwsSolutions-DDB3 MicrobatchSync/Tables/ConvergenceTable/Resource',
      'AwsSolutions-DDB3 MicrobatchSync/Tables/IngestRequestsTable/Resource',
      'AwsSolutions-DDB3 MicrobatchSync/Tables/PlansTable/Resource',
      'AwsSolutions-IAM5[Resource::<CheckerFunction288BE78F.Arn>:*] MicrobatchSync/Schedules/CheckerRole/DefaultPolicy/Resource',
      'AwsSolutions-IAM5[Resource::<PlannerFunctionAFCCE450.Arn>:*] MicrobatchSync/Schedules/PlannerRole/DefaultPolicy/Resource',
      'AwsSolutions-SQS3 MicrobatchSync/Schedules/SchedulerDeadLetterQueue/Resource',
    ]);
  });
});
