import { ACCEPT_ALL } from "../../handler/finding/filter";
import { createHandler, type HandlerDependencies, type SqsBatchResponse } from "../../handler/index";
import { createJsonLogger } from "../../handler/telemetry/log";
import type { HandlerSettings } from "../../handler/settings";
import type { Alert, PagerDutyModelOptions, Responder } from "../../standins/pagerdutyModel";
import { webhookPayload } from "../../standins/pagerdutyWebhooks";
import { startPagerDutyStandIn, type PagerDutyStandIn } from "../../standins/pagerdutyServer";
import { startSqsStandIn, type SqsStandIn } from "../../standins/sqs";
import { startSsmStandIn, type SsmStandIn } from "../../standins/ssm";
import { startDynalite, type DynamoDbEmulator } from "./dynalite";
import { sqsEvent } from "./fixtures";
import {
  createWebhookHandler,
  type WebhookDependencies,
  type WebhookSettings,
} from "../../handler/sync/endpoint";
import { startFunctionUrl, type FunctionUrlStandIn } from "../../standins/functionUrl";
import { startSecurityHubStandIn, type SecurityHubStandIn } from "../../standins/securityHub";

export const ROUTING_KEY = "e93facc04764012d7bfb002500d5d1a6";
export const PARAMETER_NAME = "electriceye-pagerduty";
export const DEAD_LETTER_QUEUE = "electriceye-pagerduty-dead-letters";
/** A lane the tests receive from as the event source mapping does. */
export const LANE_QUEUE = "electriceye-pagerduty-findings";
export const STATE_TABLE = "electriceye-pagerduty-state";
export const WEBHOOK_SECRET_PARAMETER = "electriceye-pagerduty-webhook-secret";
export const WEBHOOK_SECRET = "whsec-3fd0b7a1c9e24c5e8d6f0a1b2c3d4e5f";

/** The PagerDuty, SSM and SQS stand-ins, DynamoDB in dynalite, and the AWS SDK pointed at them through its environment. */
export interface World {
  pagerduty: PagerDutyStandIn;
  ssm: SsmStandIn;
  sqs: SqsStandIn;
  dynamodb: DynamoDbEmulator;
  securityHub: SecurityHubStandIn;
  settings: HandlerSettings;
  /** Every log line the handlers of this world wrote, parsed. */
  logs: Record<string, unknown>[];
  /** Every embedded-metric-format line the handlers of this world wrote, parsed. */
  metrics: Record<string, unknown>[];
  /** A handler as the deployed factory builds it, its AWS clients talking to the stand-ins. */
  handler(
    overrides?: Partial<HandlerDependencies>,
    settings?: Partial<HandlerSettings>,
  ): (event: unknown, context?: { getRemainingTimeInMillis(): number }) => Promise<unknown>;
  /** The webhook endpoint as deployed (the function behind a function URL), its URL. */
  webhookEndpoint(
    overrides?: Partial<WebhookDependencies>,
    settings?: Partial<WebhookSettings>,
  ): Promise<string>;
  /** Stops everything, then fails if the routing key or the webhook secret appeared in any log line. */
  close(): Promise<void>;
}

const AWS_VARIABLES = [
  "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED",
  "AWS_REGION",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_ENDPOINT_URL_SSM",
  "AWS_ENDPOINT_URL_SQS",
  "AWS_ENDPOINT_URL_DYNAMODB",
  "AWS_ENDPOINT_URL_SECURITYHUB",
];

export function awsEnvironmentFor(
  ssm: SsmStandIn,
  sqs: SqsStandIn,
  dynamodb: { endpoint: string },
  securityHub: { endpoint: string },
): Record<string, string> {
  return {
    // The deployed function runs on Node.js 22; the SDK's warning about this machine's Node.js 20 is noise here.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "AKIDSTANDIN",
    AWS_SECRET_ACCESS_KEY: "stand-in-secret",
    AWS_ENDPOINT_URL_SSM: ssm.endpoint,
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
    AWS_ENDPOINT_URL_SECURITYHUB: securityHub.endpoint,
  };
}

export async function startWorld(pagerdutyOptions: PagerDutyModelOptions = {}): Promise<World> {
  const pagerduty = await startPagerDutyStandIn(pagerdutyOptions);
  const ssm = await startSsmStandIn();
  const sqs = await startSqsStandIn([DEAD_LETTER_QUEUE, LANE_QUEUE]);
  const dynamodb = await startDynalite([STATE_TABLE]);
  const securityHub = await startSecurityHubStandIn();
  ssm.putParameter(PARAMETER_NAME, ROUTING_KEY);
  ssm.putParameter(WEBHOOK_SECRET_PARAMETER, WEBHOOK_SECRET);
  const saved = Object.fromEntries(AWS_VARIABLES.map((name) => [name, process.env[name]]));
  Object.assign(process.env, awsEnvironmentFor(ssm, sqs, dynamodb, securityHub));
  const endpoints: FunctionUrlStandIn[] = [];
  const logs: Record<string, unknown>[] = [];
  const metrics: Record<string, unknown>[] = [];
  const settings: HandlerSettings = {
    stack: "test",
    parameterName: PARAMETER_NAME,
    pagerDutyRegion: "us",
    eventsUrl: pagerduty.url,
    routingKeyTtlSeconds: 300,
    requestTimeoutSeconds: 2,
    deadLetterQueueUrl: sqs.queueUrl(DEAD_LETTER_QUEUE),
    stateTable: STATE_TABLE,
    pacingId: PARAMETER_NAME,
    // Fast enough not to slow the tests; the pacing tests set their own rate.
    eventsPerMinute: 60_000,
    filter: ACCEPT_ALL,
    alertRefreshHours: 24,
    securityHubSync: false,
    serviceName: "Security Hub findings (test)",
  };
  return {
    pagerduty,
    ssm,
    sqs,
    dynamodb,
    securityHub,
    settings,
    logs,
    metrics,
    handler: (overrides = {}, changes = {}) =>
      createHandler(
        { ...settings, ...changes },
        {
          log: createJsonLogger((line) => logs.push(JSON.parse(line) as Record<string, unknown>)),
          writeMetrics: (line) => metrics.push(JSON.parse(line) as Record<string, unknown>),
          random: () => 0,
          ...overrides,
        },
      ),
    async webhookEndpoint(overrides = {}, changes = {}) {
      const endpoint = await startFunctionUrl(
        createWebhookHandler(
          {
            stack: "test",
            secretParameterName: WEBHOOK_SECRET_PARAMETER,
            serviceId: pagerduty.model.serviceId,
            stateTable: STATE_TABLE,
            secretTtlSeconds: 300,
            ...changes,
          },
          {
            log: createJsonLogger((line) => logs.push(JSON.parse(line) as Record<string, unknown>)),
            writeMetrics: (line) => metrics.push(JSON.parse(line) as Record<string, unknown>),
            random: () => 0,
            ...overrides,
          },
        ),
      );
      endpoints.push(endpoint);
      return endpoint.url;
    },
    async close() {
      await Promise.all(endpoints.map((endpoint) => endpoint.close()));
      for (const name of AWS_VARIABLES) {
        const value = saved[name];
        if (value === undefined) Reflect.deleteProperty(process.env, name);
        else process.env[name] = value;
      }
      await Promise.all([pagerduty.close(), ssm.close(), sqs.close(), dynamodb.close(), securityHub.close()]);
      for (const [what, secret] of [
        ["the routing key", ROUTING_KEY],
        ["the webhook secret", WEBHOOK_SECRET],
      ] as const) {
        const leaked = logs.filter((line) => JSON.stringify(line).includes(secret));
        if (leaked.length > 0)
          throw new Error(`${what} appeared in a log line: ${JSON.stringify(leaked[0])}`);
      }
    },
  };
}

export function failures(response: unknown): string[] {
  return (response as SqsBatchResponse).batchItemFailures.map((failure) => failure.itemIdentifier);
}

export function remaining(ms: number): { getRemainingTimeInMillis(): number } {
  const end = Date.now() + ms;
  return { getRemainingTimeInMillis: () => end - Date.now() };
}

/**
 * Feeds Security Hub's follow-up events (those its updates emit) back to a handler until there are none, as
 * EventBridge would; returns how many rounds that took. A record the handler fails fails the test.
 */
export async function replayFollowUps(
  world: World,
  handler: (event: unknown) => Promise<unknown>,
): Promise<number> {
  let rounds = 0;
  for (
    let events = world.securityHub.drainEvents();
    events.length > 0;
    events = world.securityHub.drainEvents()
  ) {
    rounds += 1;
    if (rounds > 3) throw new Error("Security Hub's follow-up events do not end: a loop");
    for (const event of events) {
      const failed = failures(await handler(sqsEvent([JSON.stringify(event)])));
      if (failed.length > 0) throw new Error(`the follow-up event failed: ${failed.join(", ")}`);
    }
  }
  return rounds;
}

/** A responder resolves the first alert PagerDuty opened; the body of its incident.resolved webhook, as delivered. */
export function responderResolves(
  world: World,
  responder: Responder,
  occurredAt: number,
): { alert: Alert; body: string } {
  const [alert] = world.pagerduty.model.alerts();
  if (alert === undefined) throw new Error("PagerDuty opened no alert");
  world.pagerduty.model.respond(alert.dedupKey, "resolve", responder);
  const payload = webhookPayload(world.pagerduty.model, alert, "incident.resolved", responder, {
    occurredAt: new Date(occurredAt),
  });
  return { alert, body: JSON.stringify(payload) };
}
