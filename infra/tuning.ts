import type { AlertStateConfig, DeliveryTuning, PagerDutyRegion, SyncConfig, UrgencyConfig } from "../config";
import type { FindingFilter } from "../handler/finding/filter";
import type { AccountScope } from "../handler/finding/routes";
import type { SupportHours } from "../handler/finding/urgency";
import type { Grouping } from "../handler/finding/control";
import type { Lane } from "./eventPatterns";
import {
  DEADLINE_MARGIN_MS,
  HANDLER_DEFAULTS,
  type HandlerSettings,
  type RouteSetting,
} from "../handler/settings";

/**
 * Pure: the queue, event source mapping and function settings the delivery side deploys. The benchmark
 * simulates exactly these, from the same stack configuration.
 */
export interface DeliveryPlan {
  /** Records per invocation in the standard and resolve lanes. */
  batchSize: number;
  maximumConcurrency: number;
  /** How long those lanes' event source mappings gather records (0: they invoke as soon as records are there). */
  maximumBatchingWindowSeconds: number;
  recordConcurrency: number;
  functionTimeoutSeconds: number;
  /** AWS's advice for a queue behind a function: at least six times the function timeout, plus the batching window. */
  visibilityTimeoutSeconds: number;
  maxReceiveCount: number;
  laneRetentionSeconds: number;
  deadLetterRetentionSeconds: number;
  /** How long EventBridge keeps retrying a failed delivery to a queue before its target dead-letter queue. */
  ruleTargetMaximumEventAgeSeconds: number;
  ruleTargetMaximumRetryAttempts: number;
  eventsPerMinute: number;
  routingKeyTtlSeconds: number;
}

/**
 * How long one PagerDuty request may take: PagerDuty's usual 8 s, less in a short function so that at least a third
 * of what is left after the margin stays for sending (2 s at least; PagerDuty answers in well under a second).
 */
export function requestTimeoutSecondsFor(functionTimeoutSeconds: number): number {
  const ceiling = HANDLER_DEFAULTS.requestTimeoutSeconds;
  return Math.min(ceiling, Math.max(2, Math.floor((functionTimeoutSeconds - DEADLINE_MARGIN_MS / 1000) / 3)));
}

/** Seconds of an invocation in which a request may start: what its deadline and last request's timeout leave. */
export function sendWindowSeconds(functionTimeoutSeconds: number): number {
  return (
    functionTimeoutSeconds - DEADLINE_MARGIN_MS / 1000 - requestTimeoutSecondsFor(functionTimeoutSeconds)
  );
}

/**
 * The most concurrent invocations (per lane) the shared send schedule can serve: each one waiting holds a slot, so
 * beyond this a slot lies past the invocations' send windows, records are handed back unsent, and a CRITICAL
 * waits behind every standard invocation's slot. At most 2 (the event source mapping's minimum) is always allowed.
 */
export function maximumConcurrencyFor(
  tuning: Pick<DeliveryTuning, "functionTimeoutSeconds" | "eventsPerMinute">,
  lanes: number,
): number {
  const slots = (sendWindowSeconds(tuning.functionTimeoutSeconds) * tuning.eventsPerMinute) / 60;
  return Math.max(2, Math.floor(slots / Math.max(1, lanes)));
}

/** Lambda's limit on an invocation's payload: the event source mapping stops adding records there. */
export const INVOCATION_PAYLOAD_BYTES = 6 * 1024 * 1024;
/**
 * A record of one finding's Imported event as the function receives it: the event (ElectricEye's and Security Hub's
 * findings are 2 to 6 KB of JSON, test/fixtures/asff) and SQS's record around it (ids, receipt handle, attributes).
 */
export const RECORD_BYTES = 4 * 1024;
/** The state work of one record, a conditional write and its share of a read, with room for DynamoDB's latency. */
export const RECORD_WORK_MS = 25;
/** The AWS SDK's HTTP agent keeps 50 sockets: more records at once would only queue for them. */
export const MAX_RECORD_CONCURRENCY = 50;

/** The part of an invocation a batch's reads and writes may take: half its send window, the rest kept for sending. */
export function readingBudgetMs(functionTimeoutSeconds: number): number {
  return sendWindowSeconds(functionTimeoutSeconds) * 500;
}

/**
 * A lane's event source mapping. The critical lane takes the stack's batches too (an organization's rescan re-imports
 * thousands of unchanged CRITICAL findings, which ten at a time would queue a new one behind them), but gathers
 * them for a second at most (Lambda's least window for batches above ten, none for ten or fewer): a CRITICAL is
 * never held back long to fill a batch.
 */
export function mappingOf(
  plan: DeliveryPlan,
  lane: Lane,
): { batchSize: number; maximumBatchingWindowSeconds: number } {
  return lane === "critical"
    ? {
        batchSize: plan.batchSize,
        maximumBatchingWindowSeconds: Math.min(
          plan.maximumBatchingWindowSeconds,
          plan.batchSize > 10 ? 1 : 0,
        ),
      }
    : { batchSize: plan.batchSize, maximumBatchingWindowSeconds: plan.maximumBatchingWindowSeconds };
}

export function deliveryPlan(tuning: DeliveryTuning): DeliveryPlan {
  return {
    batchSize: tuning.batchSize,
    maximumConcurrency: tuning.maximumConcurrency,
    maximumBatchingWindowSeconds: tuning.maximumBatchingWindowSeconds,
    recordConcurrency: tuning.recordConcurrency,
    functionTimeoutSeconds: tuning.functionTimeoutSeconds,
    visibilityTimeoutSeconds: tuning.functionTimeoutSeconds * 6 + tuning.maximumBatchingWindowSeconds,
    maxReceiveCount: tuning.maxReceiveCount,
    laneRetentionSeconds: 4 * 24 * 3600,
    deadLetterRetentionSeconds: 14 * 24 * 3600,
    ruleTargetMaximumEventAgeSeconds: 24 * 3600,
    ruleTargetMaximumRetryAttempts: 185,
    eventsPerMinute: tuning.eventsPerMinute,
    routingKeyTtlSeconds: tuning.routingKeyTtlSeconds,
  };
}

export interface FunctionSettingsArgs {
  stack: string;
  parameterName: string;
  /** The stack's service's Events API v2 integrations; absent: one. */
  integrations?: number;
  pagerDutyRegion: PagerDutyRegion;
  filter: FindingFilter;
  plan: DeliveryPlan;
  deadLetterQueueUrl: string;
  stateTable: string;
  alertState: AlertStateConfig;
  sync: SyncConfig;
  /** Absent: the event's own severity decides urgency, as PagerDuty's severity-based rule does. */
  urgency?: UrgencyConfig;
  /** The end of the first deploy's backlog window (epoch ms), when there is one. */
  backlogUntil?: number | undefined;
  /** Absent: one alert per finding. */
  grouping?: Grouping;
  /** Absent: the default route alone, every account, and Organizations never read. */
  routes?: (Omit<RouteSetting, "supportHours"> & { supportHours?: SupportHours | undefined })[];
  accountScope?: AccountScope;
  organizations?: { roleArn: string | undefined; cacheMinutes: number } | undefined;
}

/** The settings the function is deployed with (its environment), from the stack's choices. */
export function functionSettings(args: FunctionSettingsArgs): HandlerSettings {
  return {
    stack: args.stack,
    parameterName: args.parameterName,
    pagerDutyRegion: args.pagerDutyRegion,
    routingKeyTtlSeconds: args.plan.routingKeyTtlSeconds,
    requestTimeoutSeconds: requestTimeoutSecondsFor(args.plan.functionTimeoutSeconds),
    deadLetterQueueUrl: args.deadLetterQueueUrl,
    stateTable: args.stateTable,
    // Every queue of the stack sends with the one key in this parameter, so they share its schedule.
    pacingId: args.parameterName,
    ...(args.integrations === undefined || args.integrations === 1
      ? {}
      : { integrations: args.integrations }),
    eventsPerMinute: args.plan.eventsPerMinute,
    recordConcurrency: args.plan.recordConcurrency,
    filter: args.filter,
    alertRefreshHours: args.alertState.refreshHours,
    securityHubSync: args.sync.enabled,
    serviceName: args.sync.serviceName,
    ...(args.urgency === undefined
      ? {}
      : {
          urgency: {
            supportHours: args.urgency.supportHours,
            urgentAtAnyHour: args.urgency.urgentAtAnyHour,
            backlogUntil: args.backlogUntil,
          },
        }),
    ...(args.grouping === undefined || args.grouping.per === "finding" ? {} : { grouping: args.grouping }),
    ...(args.alertState.resolveUntrackedUntil === undefined
      ? {}
      : { resolveUntrackedUntil: args.alertState.resolveUntrackedUntil }),
    ...(args.routes === undefined || args.routes.length === 0
      ? {}
      : { routes: args.routes.map((route) => routeSetting(route, args.urgency)) }),
    ...(args.accountScope === undefined ||
    (args.accountScope.include.length === 0 && args.accountScope.exclude.length === 0)
      ? {}
      : { accountScope: args.accountScope }),
    ...(args.organizations === undefined
      ? {}
      : {
          organizations: {
            cacheMinutes: args.organizations.cacheMinutes,
            ...(args.organizations.roleArn === undefined ? {} : { roleArn: args.organizations.roleArn }),
          },
        }),
  };
}

/** What the function knows of a route; its support hours only when they are not the stack's (the environment is small). */
function routeSetting(
  {
    name,
    match,
    parameterName,
    integrations,
    serviceName,
    supportHours,
  }: NonNullable<FunctionSettingsArgs["routes"]>[number],
  urgency: UrgencyConfig | undefined,
): RouteSetting {
  const own =
    urgency !== undefined &&
    JSON.stringify(supportHours ?? null) !== JSON.stringify(urgency.supportHours ?? null);
  return {
    name,
    match,
    parameterName,
    ...(integrations === undefined || integrations === 1 ? {} : { integrations }),
    serviceName,
    ...(own ? { supportHours: supportHours ?? null } : {}),
  };
}
