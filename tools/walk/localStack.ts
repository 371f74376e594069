import { OrganizationsClient } from "@aws-sdk/client-organizations";
import { SecurityHubClient } from "@aws-sdk/client-securityhub";
import { createHash } from "crypto";
import { createAccountFacts, organizationsReads } from "../../handler/accounts/organizations";
import { DEFAULT_ROUTE, integrationParameterNames } from "../../handler/finding/routes";
import { integrationsOf, type StackConfig } from "../../config";
import { systemClock, type Clock } from "../../handler/clock";
import { insideSupportHours, type SupportHours } from "../../handler/finding/urgency";
import type { DeadLetter } from "../../handler/delivery/deadLetters";
import { createMemoryPacingStore } from "../../handler/delivery/pacing";
import { ACCOUNT_FACTS_TUNING, createHandler } from "../../handler/index";
import { createMemoryAlertStore } from "../../handler/state/store";
import { createMemoryGroupStore } from "../../handler/state/groupStore";
import { createWebhookHandler } from "../../handler/sync/endpoint";
import { createMemoryWebhookLedger } from "../../handler/sync/ledger";
import { createSecurityHubUpdater } from "../../handler/sync/securityHub";
import { createJsonLogger } from "../../handler/telemetry/log";
import { deliveryPlan, functionSettings } from "../../infra/tuning";
import { startFunctionUrl, type FunctionUrlStandIn } from "../../standins/functionUrl";
import {
  startOrganizationsStandIn,
  type OrganizationsStandIn,
  type OrganizationsTree,
} from "../../standins/organizations";
import { startPagerDutyStandIn, type PagerDutyStandIn } from "../../standins/pagerdutyServer";
import { startSecurityHubStandIn, type SecurityHubStandIn } from "../../standins/securityHub";

// A stack's two functions running on this machine, as the stack deploys them (the code that ships, its
// settings), with PagerDuty and Security Hub as local stand-ins. Nothing leaves the machine.

const ROUTING_KEY = "0123456789abcdef0123456789abcdef";
export const WEBHOOK_SECRET = "local-webhook-signing-secret-0001";
// The SDK signs every request; the local stand-ins only check that it did.
const CREDENTIALS = { accessKeyId: "AKIDLOCALSTANDIN", secretAccessKey: "local-stand-in" };

export type LogLine = Record<string, unknown>;

export interface LocalStack {
  /** The moment the functions and PagerDuty see. */
  clock: WalkClock;
  pagerduty: PagerDutyStandIn;
  securityHub: SecurityHubStandIn;
  delivery: (event: unknown) => Promise<unknown>;
  /** The webhook endpoint's URL; undefined when the stack does not sync with Security Hub. */
  webhookUrl: string | undefined;
  logs: LogLine[];
  /** The embedded-metric-format lines both functions wrote, as CloudWatch would read them. */
  metrics: string[];
  deadLetters: DeadLetter[];
  /** Each route's routing key, by route name (the default route's too). */
  routingKeys: Map<string, string>;
  /** AWS Organizations, when a route reads account tags or OUs. */
  organizations: OrganizationsStandIn | undefined;
  close(): Promise<void>;
}

/** A route's local routing key: 32 letters and digits, its own for each route. */
function localKey(route: string): string {
  return route === DEFAULT_ROUTE
    ? ROUTING_KEY
    : createHash("sha256").update(route).digest("hex").slice(0, 32);
}

/**
 * When the walk-through takes place: the first half hour from `now` on that lies an hour inside the support hours,
 * so that what it shows does not depend on the hour it is run at. Without support hours, `now`.
 */
export function walkStart(hours: SupportHours | undefined, now: number): number {
  if (hours === undefined) return now;
  const step = 30 * 60_000;
  let at = Math.ceil(now / step) * step;
  while (!(insideSupportHours(hours, at) && insideSupportHours(hours, at + 2 * step))) at += step;
  return at;
}

/** The middle of the first stretch outside the support hours after `from`: the night. */
export function nightAfter(hours: SupportHours, from: number): number {
  const step = 30 * 60_000;
  let out = Math.ceil(from / step) * step;
  while (insideSupportHours(hours, out)) out += step;
  let back = out;
  while (!insideSupportHours(hours, back)) back += step;
  return out + Math.floor((back - out) / 2 / step) * step;
}

export interface WalkClock extends Clock {
  /** Moves the walk to a later moment (the night, the next morning). */
  moveTo(at: number): void;
}

/** Real time moved to `startAt`: sleeps are real, the moments the functions see are the walk's. */
export function movedClock(startAt: number): WalkClock {
  let offset = startAt - Date.now();
  return {
    now: () => Date.now() + offset,
    sleep: systemClock.sleep,
    moveTo: (at) => {
      offset = at - Date.now();
    },
  };
}

export async function startLocalStack(
  config: StackConfig,
  clock: WalkClock = movedClock(Date.now()),
  organizationsTree?: OrganizationsTree,
  /** The end of the first deploy's backlog window, when the walk shows one. */
  backlogUntil?: number,
): Promise<LocalStack> {
  // The functions run on Node.js 22 in Lambda; the SDK's notice about this machine's Node.js is not the user's concern.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const routingKeys = new Map(
    [DEFAULT_ROUTE, ...config.routes.map((route) => route.name)].map((route) => [route, localKey(route)]),
  );
  // A route's integrations all take its one local key: the walk shows routes, not PagerDuty's rate limit.
  const keyOfParameter = new Map([
    ...integrationParameterNames(config.parameterName, integrationsOf(config.pagerduty)).map(
      (name): [string, string] => [name, ROUTING_KEY],
    ),
    ...config.routes.flatMap((route) =>
      integrationParameterNames(route.parameterName, integrationsOf(route.pagerduty)).map(
        (name): [string, string] => [name, localKey(route.name)],
      ),
    ),
  ]);
  const pagerduty = await startPagerDutyStandIn({
    routingKeys: [...routingKeys.values()],
    now: () => clock.now(),
  });
  const organizations =
    config.organizations === undefined || organizationsTree === undefined
      ? undefined
      : await startOrganizationsStandIn(organizationsTree);
  const securityHub = await startSecurityHubStandIn(() => clock.now());
  const logs: LogLine[] = [];
  const log = createJsonLogger((line) => logs.push(JSON.parse(line) as LogLine));
  const deadLetters: DeadLetter[] = [];
  const metrics: string[] = [];
  const writeMetrics = (line: string) => metrics.push(line);
  // The two functions share the stack's state table; here, one in-memory store.
  const alertStore = createMemoryAlertStore();
  const groupStore = createMemoryGroupStore();
  const pacingStore = createMemoryPacingStore();
  const findingUpdater = createSecurityHubUpdater(
    new SecurityHubClient({ endpoint: securityHub.endpoint, region: "us-east-1", credentials: CREDENTIALS }),
  );
  const delivery = createHandler(
    {
      ...functionSettings({
        stack: config.stack,
        parameterName: config.parameterName,
        pagerDutyRegion: config.pagerDutyRegion,
        filter: config.filter,
        plan: deliveryPlan(config.delivery),
        deadLetterQueueUrl: "local",
        stateTable: "local",
        alertState: config.alertState,
        sync: config.sync,
        integrations: integrationsOf(config.pagerduty),
        routes: config.routes.map((route) => ({ ...route, integrations: integrationsOf(route.pagerduty) })),
        accountScope: config.accountScope,
        organizations: config.organizations,
        urgency: config.urgency,
        grouping: config.grouping,
        backlogUntil,
      }),
      eventsUrl: pagerduty.url,
    },
    {
      clock,
      random: Math.random,
      readParameter: (name) => Promise.resolve({ value: keyOfParameter.get(name) ?? ROUTING_KEY }),
      ...(organizations === undefined
        ? {}
        : {
            accountFacts: createAccountFacts({
              reads: organizationsReads(
                new OrganizationsClient({
                  endpoint: organizations.endpoint,
                  region: "us-east-1",
                  credentials: CREDENTIALS,
                  maxAttempts: 1,
                }),
              ),
              ttlMs: (config.organizations?.cacheMinutes ?? 15) * 60_000,
              failureMemoryMs: ACCOUNT_FACTS_TUNING.failureMemoryMs,
              budgetMs: ACCOUNT_FACTS_TUNING.budgetMs,
              unitNames: true,
              clock,
              log,
            }),
          }),
      pacingStore,
      alertStore,
      groupStore,
      findingUpdater,
      deadLetter: (letter) => {
        deadLetters.push(letter);
        return Promise.resolve();
      },
      log,
      writeMetrics,
    },
  );
  let endpoint: FunctionUrlStandIn | undefined;
  if (config.sync.enabled) {
    endpoint = await startFunctionUrl(
      createWebhookHandler(
        {
          stack: config.stack,
          secretParameterName: "local",
          serviceId: pagerduty.model.serviceId,
          secretTtlSeconds: 300,
        },
        {
          readParameter: () => Promise.resolve({ value: WEBHOOK_SECRET }),
          clock,
          alertStore,
          groupStore,
          pacingStore,
          ledger: createMemoryWebhookLedger(),
          findingUpdater,
          log,
          writeMetrics,
        },
      ),
    );
  }
  return {
    pagerduty,
    securityHub,
    delivery,
    clock,
    webhookUrl: endpoint?.url,
    logs,
    metrics,
    deadLetters,
    routingKeys,
    organizations,
    close: async () => {
      await Promise.all([pagerduty.close(), securityHub.close(), endpoint?.close(), organizations?.close()]);
    },
  };
}
