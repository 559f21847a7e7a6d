/**
 * Synthesizes the app as the CDK CLI would (the context of cdk.json plus overrides) but without
 * bundling or the built-in CloudFormation validator, which keeps a template at well under a second.
 * cdk-nag runs on every synth here: a finding makes `Template.fromStack` throw.
 */
import { readFileSync } from 'node:fs';
import { beforeAll } from 'vitest';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CfnRole } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { Resource } from '#shared/config.ts';
import { METRIC } from '#shared/metrics.ts';
import { createApp, type CreatedApp } from '#infra/app.ts';
import type { ServiceFunction } from '#infra/constructs/service-function.ts';
import { handlerPath, type FunctionName } from '#infra/definitions.ts';

export const PROJECT_ROOT = new URL('../../', import.meta.url);

/** The `context` of cdk.json: feature flags and the documented defaults. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(new URL('cdk.json', PROJECT_ROOT), 'utf8')) as { context: Record<string, unknown> };
  return cdkJson.context;
}

/** Context overrides by their short name: `{ intervalSeconds: 300 }` sets `microbatch-sync:intervalSeconds`. */
export type Overrides = Record<string, unknown>;

export function withPrefix(overrides: Overrides): Record<string, unknown> {
  return Object.fromEntries(Object.entries(overrides).map(([name, value]) => [`microbatch-sync:${name}`, value]));
}

export interface Synthesized extends CreatedApp {
  readonly template: Template;
  readonly json: CfnTemplate;
}

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, { readonly Value: unknown }>;
}

/** The stack for cdk.json's context plus `overrides`, without bundling. */
export function synth(overrides: Overrides = {}, env: { CDK_DEFAULT_REGION?: string } = {}): Synthesized {
  const created = createApp(
    { context: { ...cdkJsonContext(), ...withPrefix(overrides), 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false },
    env,
  );
  const template = Template.fromStack(created.stack);
  return { ...created, template, json: template.toJSON() as CfnTemplate };
}

/** cdk.json's stack, synthesized once for a test file, with the lookups every infra test makes. */
export interface DefaultStack {
  readonly synthesized: Synthesized;
  readonly json: CfnTemplate;
  readonly fn: (name: FunctionName) => ServiceFunction;
  readonly properties: (id: string) => Record<string, unknown>;
}

/** Synthesizes cdk.json's stack in the calling file's `beforeAll`; read it inside the tests. */
export function defaultStack(): DefaultStack {
  let synthesized: Synthesized | undefined;
  beforeAll(() => {
    synthesized = synth();
  });
  const get = (): Synthesized => {
    if (synthesized === undefined) throw new Error('the stack is synthesized in beforeAll: read it inside a test');
    return synthesized;
  };
  return {
    get synthesized() {
      return get();
    },
    get json() {
      return get().json;
    },
    fn: (name) => get().stack.functions[name],
    properties: (id) => propertiesOf(get().json, id),
  };
}

/** The logical id of a construct's CloudFormation resource. */
export function logicalId(element: { node: { defaultChild?: unknown } }): string {
  const child = element.node.defaultChild as CfnRole | CfnFunction;
  return Stack.of(child).resolve(child.logicalId) as string;
}

/** One IAM statement, with Action and Resource as lists. */
export interface Statement {
  readonly Effect: string;
  readonly Action: readonly string[];
  readonly Resource: readonly unknown[];
}

function list<T>(value: T | readonly T[] | undefined): readonly T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? (value as readonly T[]) : [value as T];
}

function toStatement(raw: Record<string, unknown>): Statement {
  return { Effect: raw.Effect as string, Action: list(raw.Action as string | string[]), Resource: list(raw.Resource) };
}

/** Every statement of every identity policy in the template (AWS::IAM::Policy, inline role policies, managed policies). */
export function identityStatements(json: CfnTemplate): Statement[] {
  const documents: unknown[] = [];
  for (const resource of Object.values(json.Resources)) {
    if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') documents.push(resource.Properties?.PolicyDocument);
    if (resource.Type === 'AWS::IAM::Role') {
      for (const policy of list(resource.Properties?.Policies as { PolicyDocument: unknown }[] | undefined)) documents.push(policy.PolicyDocument);
    }
  }
  return documents.flatMap((document) => list((document as { Statement: Record<string, unknown>[] }).Statement).map(toStatement));
}

/** The statements of the policies attached to one role. */
export function roleStatements(json: CfnTemplate, roleId: string): Statement[] {
  return Object.values(json.Resources)
    .filter((resource) => resource.Type === 'AWS::IAM::Policy' && list(resource.Properties?.Roles as unknown[]).some((role) => JSON.stringify(role) === JSON.stringify({ Ref: roleId })))
    .flatMap((resource) => list((resource.Properties?.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement).map(toStatement));
}

/** The logical id a resource entry points at (`Fn::GetAtt` or `Ref`), or its JSON when it is anything else. */
function resourceKey(resource: unknown): string {
  const value = resource as { 'Fn::GetAtt'?: [string, string]; Ref?: string };
  return value['Fn::GetAtt']?.[0] ?? value.Ref ?? JSON.stringify(resource);
}

/** A function's allowed actions by the logical id of the resource they apply to, each list sorted. */
export function grantsOf(json: CfnTemplate, fn: ServiceFunction): Record<string, string[]> {
  const grants: Record<string, Set<string>> = {};
  for (const statement of roleStatements(json, logicalId(fn.role))) {
    if (statement.Effect !== 'Allow') continue;
    for (const resource of statement.Resource) {
      const key = resourceKey(resource);
      grants[key] ??= new Set();
      for (const action of statement.Action) grants[key].add(action);
    }
  }
  return Object.fromEntries(Object.entries(grants).map(([key, actions]) => [key, [...actions].sort()]));
}

/** The environment variables of a function resource. */
export function environmentOf(json: CfnTemplate, fn: ServiceFunction): Record<string, unknown> {
  const props = json.Resources[logicalId(fn.function)]?.Properties as { Environment: { Variables: Record<string, unknown> } };
  return props.Environment.Variables;
}

/** Resources of one type, by logical id. */
export function resourcesOfType(json: CfnTemplate, type: string): Record<string, CfnResource> {
  return Object.fromEntries(Object.entries(json.Resources).filter(([, resource]) => resource.Type === type));
}

/** A resource's properties; throws when the template has no such resource. */
export function propertiesOf(json: CfnTemplate, id: string): Record<string, unknown> {
  const resource = json.Resources[id];
  if (resource?.Properties === undefined) throw new Error(`no resource ${id}`);
  return resource.Properties;
}

/** A handler's source, from the file its definition names. */
function handlerSource(name: FunctionName): string {
  return readFileSync(new URL(handlerPath(name), PROJECT_ROOT), 'utf8');
}

/** The resources a handler asks `loadResources` for, read from its source. */
export function resourcesTheHandlerLoads(name: FunctionName): Resource[] {
  const match = /loadResources\(\[([^\]]*)\]\)/.exec(handlerSource(name));
  if (match?.[1] === undefined) throw new Error(`${handlerPath(name)} does not call loadResources([...])`);
  return [...match[1].matchAll(/'(\w+)'/g)].map((m) => m[1] as Resource);
}

/** The metrics a handler emits, read from its source (`metrics.addMetric(METRIC.<name>, …)` or an `addCounts({ [METRIC.<name>]: … })` entry). */
export function metricsTheHandlerEmits(name: FunctionName): string[] {
  return [...handlerSource(name).matchAll(/(?:addMetric\(|\[)METRIC\.(\w+)/g)].map((match) => METRIC[match[1] as keyof typeof METRIC]);
}
