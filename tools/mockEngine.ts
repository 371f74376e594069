import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { PROJECT } from "../config";
import type { StackSettings } from "./stackConfig";

// Runs the real program under Pulumi's mock engine: no CLI, no provider plugins, no cloud. Every resource the
// program registers is recorded with its inputs; outputs are computed the way the providers would name them.

export interface RecordedResource {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

/** A data source the program read: answered by the mock here, looked up for real only by pulumi up. */
export interface RecordedLookup {
  token: string;
  inputs: Record<string, unknown>;
}

export interface ProgramRun {
  resources: RecordedResource[];
  lookups: RecordedLookup[];
  outputs: Record<string, pulumi.Output<unknown>>;
}

/** The account the mock engine resolves every ARN in. */
export const ACCOUNT = "111122223333";
/** The moment the mock engine's stacks were first deployed. */
export const MOCK_DEPLOYED_AT = "2025-06-02T09:00:00.000Z";
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

export function isSecretValue(value: unknown): value is { value: unknown } {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[SECRET_SIG] === "1b47061264138c4ac30d75fd1eb44270"
  );
}

function shortHash(text: string, length: number): string {
  return createHash("sha256").update(text).digest("hex").slice(0, length);
}

/** The integration key the mock PagerDuty provider returns for an integration resource. */
export function mockIntegrationKey(resourceName: string): string {
  return shortHash(`key:${resourceName}`, 32);
}

/** The signing secret the mock PagerDuty returns for a webhook subscription. */
export function mockWebhookSecret(resourceName: string): string {
  return shortHash(`webhook-secret:${resourceName}`, 40);
}

/** The name a provider gives a resource: the one asked for, or the logical name with a random-looking suffix. */
export function physicalName(resource: RecordedResource): string {
  return typeof resource.inputs.name === "string"
    ? resource.inputs.name
    : `${resource.name}-${shortHash(resource.name, 7)}`;
}

function computedState(
  type: string,
  name: string,
  inputs: Record<string, unknown>,
  region: string,
): Record<string, unknown> {
  const physical = physicalName({ type, name, inputs });
  const service = type.split(":")[1]?.split("/")[0] ?? "unknown";
  const arns: Record<string, string> = {
    "aws:sqs/queue:Queue": `arn:aws:sqs:${region}:${ACCOUNT}:${physical}`,
    "aws:ssm/parameter:Parameter": `arn:aws:ssm:${region}:${ACCOUNT}:parameter/${physical.replace(/^\//, "")}`,
    "aws:cloudwatch/logGroup:LogGroup": `arn:aws:logs:${region}:${ACCOUNT}:log-group:${physical}`,
    "aws:dynamodb/table:Table": `arn:aws:dynamodb:${region}:${ACCOUNT}:table/${physical}`,
    "aws:cloudwatch/eventRule:EventRule": `arn:aws:events:${region}:${ACCOUNT}:rule/${physical}`,
    "aws:iam/role:Role": `arn:aws:iam::${ACCOUNT}:role/${physical}`,
    "aws:lambda/function:Function": `arn:aws:lambda:${region}:${ACCOUNT}:function:${physical}`,
    "aws:securityhub/actionTarget:ActionTarget": `arn:aws:securityhub:${region}:${ACCOUNT}:action/custom/${String(inputs.identifier)}`,
  };
  const state: Record<string, unknown> = {
    ...inputs,
    name: physical,
    arn: arns[type] ?? `arn:aws:${service}:${region}:${ACCOUNT}:${physical}`,
  };
  if (type === "aws:sqs/queue:Queue")
    state.url = `https://sqs.${region}.amazonaws.com/${ACCOUNT}/${physical}`;
  if (type === "pagerduty:index/serviceIntegration:ServiceIntegration")
    state.integrationKey = mockIntegrationKey(name);
  if (type === "aws:lambda/functionUrl:FunctionUrl")
    state.functionUrl = `https://${shortHash(name, 32)}.lambda-url.${region}.on.aws/`;
  // The webhook subscription's dynamic provider: PagerDuty reveals the signing secret when it creates one.
  if (type === "pulumi-nodejs:dynamic:Resource" && "serviceId" in inputs)
    state.secret = mockWebhookSecret(name);
  // The baseline's dynamic provider records the moment of the first deploy.
  if (type === "pulumi-nodejs:dynamic:Resource" && "baselineHours" in inputs)
    state.deployedAt = MOCK_DEPLOYED_AT;
  return state;
}

function dataSource(token: string, inputs: Record<string, unknown>, region: string): Record<string, unknown> {
  const id = (prefix: string, seed: unknown) => `${prefix}${shortHash(String(seed), 6).toUpperCase()}`;
  switch (token) {
    case "aws:index/getRegion:getRegion":
      return {
        id: region,
        name: region,
        region,
        description: region,
        endpoint: `ec2.${region}.amazonaws.com`,
      };
    case "aws:index/getPartition:getPartition":
      return { id: "aws", partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws" };
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return {
        id: ACCOUNT,
        accountId: ACCOUNT,
        arn: `arn:aws:iam::${ACCOUNT}:user/deployer`,
        userId: "AIDADEPLOYER",
      };
    case "pagerduty:index/getUser:getUser":
      return { id: id("PU", inputs.email), email: inputs.email, name: String(inputs.email).split("@")[0] };
    case "pagerduty:index/getSchedule:getSchedule":
      return { id: id("PS", inputs.name), name: inputs.name };
    case "pagerduty:index/getVendor:getVendor":
      return { id: id("PV", inputs.name), name: inputs.name, type: "generic_email_inbound_integration" };
    default:
      // A new lookup must be taught here on purpose, not pass unnoticed.
      throw new Error(`the mock engine does not know the data source ${token}`);
  }
}

type Program = () => Promise<Record<string, pulumi.Output<unknown>>>;

/** Runs index.ts for one stack's configuration; safe to call again for another stack in the same process. */
export async function runProgram(settings: StackSettings): Promise<ProgramRun> {
  const resources: RecordedResource[] = [];
  const lookups: RecordedLookup[] = [];
  const region = settings.values["aws:region"] ?? "us-east-1";
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        resources.push({ type: args.type, name: args.name, inputs: args.inputs as Record<string, unknown> });
        return {
          id: `${args.name}-id`,
          state: computedState(args.type, args.name, args.inputs as Record<string, unknown>, region),
        };
      },
      call: (args) => {
        lookups.push({ token: args.token, inputs: args.inputs as Record<string, unknown> });
        return dataSource(args.token, args.inputs as Record<string, unknown>, region);
      },
    },
    PROJECT,
    settings.stack,
    false,
  );
  pulumi.runtime.setAllConfig(settings.values, settings.secretKeys);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const program = require("../index") as Program;
  const outputs = await program();
  await Promise.all(Object.values(outputs).map((output) => new Promise((resolve) => output.apply(resolve))));
  await pulumi.runtime.disconnect();
  return { resources, lookups, outputs };
}
