import { integrationsOf, readStackConfig, type StackConfig } from "../../config";
import type { OrganizationsReads } from "../../handler/accounts/organizations";
import type { Transport } from "../../handler/delivery/pagerduty";
import { DEFAULT_ROUTE, integrationParameterNames } from "../../handler/finding/routes";
import { lanesOf, stackRules, type Lane, type RulePlan } from "../../infra/eventPatterns";
import { deliveryPlan, functionSettings, type DeliveryPlan } from "../../infra/tuning";
import { AwsError } from "../../standins/awsJson";
import { createPagerDutyModel, type PagerDutyModel } from "../../standins/pagerdutyModel";
import { matchesPattern } from "../patternMatcher";
import { planSettings } from "../plan";
import { mapConfigSource } from "../stackConfig";
import { Deployment } from "./deployment";
import type { PagerDutyFault } from "./scenarios";
import { accountId } from "./scenarios";
import { createVirtualTime, seededRandom, type VirtualTime } from "./virtualTime";

// What every benchmark run shares: the stack's own settings and rules, a virtual clock, the strict PagerDuty
// model behind a transport with PagerDuty's latency, and one simulated deployment per account and routing key.

export const START = Date.UTC(2026, 0, 5, 9, 0, 0);
// PagerDuty answers in about a tenth to a quarter of a second.
const PAGERDUTY_LATENCY_MS = { min: 80, spread: 170 };
// Long enough for any scenario to finish; what is not accounted for by then is lost.
export const VIRTUAL_HORIZON_MS = 24 * 3600 * 1000;

export interface HarnessOptions {
  stack: string;
  config: Record<string, string>;
  keys: number;
  seed: number;
  /** What PagerDuty does with a request arriving at `at` (virtual ms since the start). */
  pagerdutyFault?: (at: number, random: () => number) => PagerDutyFault;
  ssmThrottled?: (at: number) => boolean;
  /** The team whose PagerDuty service a route pages (by route name, the default route included). */
  teamOfRoute?: (route: string) => string;
  /** AWS Organizations as the stack's routes read it: each account's tags and parents. */
  organizations?: OrganizationsReads;
}

export interface SentEvent {
  at: number;
  routingKey: string;
  action: string;
  dedupKey: string;
  status: number;
}

export interface Harness {
  config: StackConfig;
  plan: DeliveryPlan;
  rules: RulePlan[];
  lanes: Lane[];
  time: VirtualTime;
  random: () => number;
  model: PagerDutyModel;
  deployments: Deployment[];
  /** Every request that reached PagerDuty's answer (faults included), in order. */
  sent: SentEvent[];
  /** All requests made, including those that timed out. */
  requests(): number;
  /** The team whose PagerDuty service each routing key belongs to; a key absent here serves everyone. */
  serviceTeams: Map<string, string>;
  /** When the first trigger with each dedup key was accepted. */
  firstAccepted: Map<string, number>;
  /** The lanes the stack's rules put an event in (none when no rule admits it). */
  lanesFor(event: unknown): Lane[];
  routingKeyFor(account: number): string;
}

export function routingKeyFor(account: number): string {
  return `${accountId(account)}00000000000000000000`.slice(0, 32);
}

/**
 * The routing key of an account's stack's route (its own integrations, on its own service), by its index (-1: the
 * default route, whose first key is routingKeyFor's) and the integration's (from 0).
 */
function routeKeyFor(account: number, route: number, integration: number): string {
  const name = route < 0 ? "d00" : String(route).padStart(3, "0");
  return `${accountId(account)}r${name}k${integration}0000000000000000`.slice(0, 32);
}

/** Every parameter of the stack's keys but the default route's first, with its route (by name). */
function keyParameters(
  config: StackConfig,
): { route: string; index: number; integration: number; parameterName: string }[] {
  const sides = [
    { route: DEFAULT_ROUTE, index: -1, parameterName: config.parameterName, pagerduty: config.pagerduty },
    ...config.routes.map((route, index) => ({ route: route.name, index, ...route })),
  ];
  return sides.flatMap(({ route, index, parameterName, pagerduty }) =>
    integrationParameterNames(parameterName, integrationsOf(pagerduty))
      .map((name, integration) => ({ route, index, integration, parameterName: name }))
      .filter((entry) => entry.index >= 0 || entry.integration > 0),
  );
}

export function createHarness(options: HarnessOptions): Harness {
  const config = readStackConfig(mapConfigSource(planSettings(options.stack, options.config).settings));
  const plan = deliveryPlan(config.delivery);
  const rules = stackRules(config);
  const lanes = lanesOf(rules);
  const time = createVirtualTime(START);
  const random = seededRandom(options.seed);
  const keys = Array.from({ length: options.keys }, (_, account) => routingKeyFor(account));
  const parameters = keyParameters(config);
  const routeKeys = keys.map((_, account) =>
    parameters.map((entry) => ({
      ...entry,
      routingKey: routeKeyFor(account, entry.index, entry.integration),
    })),
  );
  const model = createPagerDutyModel({
    routingKeys: [...keys, ...routeKeys.flat().map((entry) => entry.routingKey)],
    now: time.now,
  });
  // With routes, every key pages one team's service; without, the stack's one service takes everyone's findings.
  const serviceTeams = new Map<string, string>();
  const teamOfRoute = options.teamOfRoute ?? ((route: string) => route);
  if (config.routes.length > 0)
    keys.forEach((key, account) => {
      serviceTeams.set(key, teamOfRoute(DEFAULT_ROUTE));
      for (const entry of routeKeys[account] ?? [])
        serviceTeams.set(entry.routingKey, teamOfRoute(entry.route));
    });
  const sent: SentEvent[] = [];
  const firstAccepted = new Map<string, number>();
  let requests = 0;

  const transport: Transport = async ({ body, signal }) => {
    requests += 1;
    await time.clock.sleep(PAGERDUTY_LATENCY_MS.min + random() * PAGERDUTY_LATENCY_MS.spread, signal);
    if (signal.aborted) throw new Error("aborted");
    const event = JSON.parse(body) as { event_action: string; dedup_key: string; routing_key: string };
    const fault = options.pagerdutyFault?.(time.now() - START, random);
    if (fault?.kind === "timeout") {
      await time.clock.sleep(VIRTUAL_HORIZON_MS, signal);
      throw new Error("aborted");
    }
    const answer =
      fault?.kind === "status" ? { status: fault.status, body: '{"status":"error"}' } : model.receive(body);
    sent.push({
      at: time.now(),
      routingKey: event.routing_key,
      action: event.event_action,
      dedupKey: event.dedup_key,
      status: answer.status,
    });
    if (answer.status === 202 && event.event_action === "trigger" && !firstAccepted.has(event.dedup_key))
      firstAccepted.set(event.dedup_key, time.now());
    return answer;
  };

  const deployments = keys.map(
    (routingKey, account) =>
      new Deployment({
        name: `account-${accountId(account)}`,
        time,
        random,
        routingKey,
        routeKeys: (routeKeys[account] ?? []).map(({ parameterName, routingKey: key }) => ({
          parameterName,
          routingKey: key,
        })),
        settings: functionSettings({
          stack: config.stack,
          parameterName: config.parameterName,
          integrations: integrationsOf(config.pagerduty),
          pagerDutyRegion: config.pagerDutyRegion,
          filter: config.filter,
          plan,
          deadLetterQueueUrl: `https://sqs.us-east-1.amazonaws.com/${accountId(account)}/dead-letters`,
          stateTable: "delivery-state",
          alertState: config.alertState,
          sync: config.sync,
          urgency: config.urgency,
          grouping: config.grouping,
          // The stacks are deployed when the simulation starts.
          backlogUntil:
            config.urgency.backlogBaselineHours === 0
              ? undefined
              : START + config.urgency.backlogBaselineHours * 3600_000,
          routes: config.routes.map(
            ({ name, match, parameterName, pagerduty, serviceName, supportHours }) => ({
              name,
              match,
              parameterName,
              integrations: integrationsOf(pagerduty),
              serviceName,
              supportHours,
            }),
          ),
          accountScope: config.accountScope,
          organizations: config.organizations,
        }),
        ...(options.organizations === undefined ? {} : { organizations: options.organizations }),
        plan,
        memorySizeMb: config.delivery.memorySizeMb,
        lanes,
        transport,
        ssmFault: () =>
          options.ssmThrottled?.(time.now() - START) === true
            ? new AwsError("ThrottlingException", "Rate exceeded")
            : undefined,
      }),
  );

  return {
    config,
    plan,
    rules,
    lanes,
    time,
    random,
    model,
    deployments,
    sent,
    requests: () => requests,
    serviceTeams,
    firstAccepted,
    lanesFor: (event) => [
      ...new Set(rules.filter((rule) => matchesPattern(rule.pattern, event)).map((rule) => rule.lane)),
    ],
    routingKeyFor,
  };
}

export interface Percentiles {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export function percentiles(values: number[]): Percentiles | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (share: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)] ?? 0;
  const round = (value: number) => Math.round(value * 10) / 10;
  return {
    count: sorted.length,
    p50: round(at(0.5)),
    p99: round(at(0.99)),
    max: round(sorted[sorted.length - 1] ?? 0),
  };
}
