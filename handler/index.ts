import { OrganizationsClient } from "@aws-sdk/client-organizations";
import { AWS_CLIENT_CONFIG } from "./awsClients";
import { SQSClient } from "@aws-sdk/client-sqs";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import {
  createAccountFacts,
  organizationsReads,
  type AccountFactsReader,
  type OrganizationsReads,
} from "./accounts/organizations";
import type { Finding } from "./finding/model";
import {
  DEFAULT_ROUTE,
  chooseRoute,
  integrationOf,
  integrationParameterNames,
  needsAccountFacts,
  routeOfIntegration,
  type RouteChoice,
} from "./finding/routes";
import type { Channel } from "./delivery/sendFinding";
import { SSMClient } from "@aws-sdk/client-ssm";
import { isObject } from "./finding/json";
import { SecurityHubClient } from "@aws-sdk/client-securityhub";
import {
  processRecords,
  type BatchDependencies,
  type InboundRecord,
  type RecordResult,
} from "./delivery/batch";
import { systemClock, type Clock } from "./clock";
import { createSqsDeadLetterSender, type DeadLetterSender } from "./delivery/deadLetters";
import { createDelivery } from "./delivery/delivery";
import {
  createSqsReturnToQueue,
  visibilitySecondsFor,
  type HandBack,
  type ReturnToQueue,
} from "./delivery/handBack";
import { stateTableStores } from "./state/dynamo";
import { readEvent, readRecordBody } from "./finding/events";
import { createJsonLogger, type Logger } from "./telemetry/log";
import { createMeter } from "./telemetry/metrics";
import { createPacer, type PacingStore } from "./delivery/pacing";
import { EVENTS_URLS, createPagerDutyClient, fetchTransport, type Transport } from "./delivery/pagerduty";
import { prefetchingStore, type AlertStore } from "./state/store";
import type { GroupStore } from "./state/groupStore";
import { ALERT_PER_FINDING } from "./finding/control";
import { createAlertTracker } from "./state/tracker";
import { describeRoutingKeyProblem } from "./finding/pagerdutyEvent";
import { routeUrgency } from "./finding/urgency";
import { createSecretParameter, type ParameterReader } from "./secretParameter";
import { DEADLINE_MARGIN_MS, HANDLER_DEFAULTS, type HandlerSettings } from "./settings";
import { createPageWriteBack } from "./sync/pageWriteBack";
import { createSecurityHubUpdater, type FindingUpdater } from "./sync/securityHub";
import { createSecurityHubWriter } from "./sync/writeBack";
import { createSsmReader } from "./ssm";

export { settingsFromEnvironment, settingsToEnvironment, type HandlerSettings } from "./settings";

/** The edges of the handler. Each defaults to the real service; tests and the benchmark replace them. */
export interface HandlerDependencies {
  clock: Clock;
  random: () => number;
  transport: Transport;
  readParameter: ParameterReader;
  pacingStore: PacingStore;
  alertStore: AlertStore;
  /** The group records (alertPer: control), in the same table. */
  groupStore: GroupStore;
  deadLetter: DeadLetterSender | undefined;
  /** Tells SQS when each handed-back record should come back (ChangeMessageVisibility). */
  returnToQueue: ReturnToQueue;
  /** Security Hub's BatchUpdateFindings, used when the stack syncs with Security Hub. */
  findingUpdater: FindingUpdater;
  log: Logger;
  /** Where the embedded-metric-format lines go: the function's standard output, which CloudWatch reads. */
  writeMetrics: (line: string) => void;
  /** An account's tags and parents (AWS Organizations, cached), when a route needs them. */
  accountFacts: AccountFactsReader | undefined;
  /** AWS Organizations' read calls behind the account facts (the SDK client by default). */
  organizationsReads: OrganizationsReads;
}

export interface LambdaContext {
  getRemainingTimeInMillis(): number;
}

export interface SqsBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

export interface DirectInvocationResult {
  results: RecordResult[];
}

export const DELIVERY_TUNING = {
  retryBaseMs: 1_000,
  retryMaxMs: 20_000,
  // PagerDuty's advice for 429 is to wait tens of seconds; meanwhile its rolling minute drains.
  rateLimitHoldOffMs: 20_000,
  deadlineMarginMs: DEADLINE_MARGIN_MS,
  // The budget of a call without a Lambda context (local tools).
  contextlessBudgetMs: 60_000,
  // When a handed-back record comes back if nothing says when sending can succeed again (SSM, PagerDuty failing).
  handBackRetryMs: 20_000,
} as const;

export const ACCOUNT_FACTS_TUNING = {
  // A page waits at most this long for Organizations before taking the default route.
  budgetMs: 2_000,
  // A failed lookup is not tried again for an account before this: a denied Organizations costs a call a minute.
  failureMemoryMs: 60_000,
} as const;

/**
 * Organizations is a global service answered in us-east-1 (aws partition). With a role named, the client's
 * credentials are that role's, assumed from the function's own and renewed before they expire.
 */
function organizationsClient(roleArn: string | undefined): OrganizationsClient {
  const base = { ...AWS_CLIENT_CONFIG, region: "us-east-1", maxAttempts: 2 };
  if (roleArn === undefined) return new OrganizationsClient(base);
  const sts = new STSClient({ ...AWS_CLIENT_CONFIG, maxAttempts: 2 });
  return new OrganizationsClient({
    ...base,
    credentials: async () => {
      const output = await sts.send(
        new AssumeRoleCommand({
          RoleArn: roleArn,
          RoleSessionName: "electriceye-pagerduty",
          DurationSeconds: 3600,
        }),
      );
      const credentials = output.Credentials;
      if (credentials?.AccessKeyId === undefined || credentials.SecretAccessKey === undefined)
        throw new Error(`AssumeRole of ${roleArn} returned no credentials`);
      return {
        accessKeyId: credentials.AccessKeyId,
        secretAccessKey: credentials.SecretAccessKey,
        ...(credentials.SessionToken === undefined ? {} : { sessionToken: credentials.SessionToken }),
        ...(credentials.Expiration === undefined ? {} : { expiration: credentials.Expiration }),
      };
    },
  });
}

interface SqsRecordLike {
  messageId: string;
  receiptHandle?: string;
  eventSourceARN?: string;
  body: string;
  attributes?: { ApproximateReceiveCount?: string };
}

function isSqsEvent(event: unknown): event is { Records: SqsRecordLike[] } {
  return isObject(event) && Array.isArray(event.Records);
}

/**
 * Builds the clients once per container (the cached routing key and the pacing state live in this closure,
 * never at module level: the deployed code is serialized and module state would not survive) and returns the
 * Lambda handler. It takes SQS batches of EventBridge events and answers with the partial batch response, or
 * one EventBridge event invoked directly.
 */
export function createHandler(settings: HandlerSettings, overrides: Partial<HandlerDependencies> = {}) {
  const clock = overrides.clock ?? systemClock;
  const random = overrides.random ?? Math.random;
  const meter = createMeter(settings.stack, overrides.writeMetrics);
  const log = overrides.log ?? createJsonLogger();
  const readParameter = overrides.readParameter ?? createSsmReader(new SSMClient(AWS_CLIENT_CONFIG));
  // The send schedule and the alert state both live in the stack's state table.
  const stores = stateTableStores(settings.stateTable);
  const pacingStore = overrides.pacingStore ?? stores.pacing();
  const alertStore = overrides.alertStore ?? stores.alerts();
  const groupStore = overrides.groupStore ?? stores.groups();
  // Queue URLs name the queue; the client sends to its Region's endpoint.
  let sqs: SQSClient | undefined;
  const sqsClient = () => (sqs ??= new SQSClient({ ...AWS_CLIENT_CONFIG, useQueueUrlAsEndpoint: false }));
  const deadLetter =
    "deadLetter" in overrides
      ? overrides.deadLetter
      : settings.deadLetterQueueUrl === undefined
        ? undefined
        : createSqsDeadLetterSender(sqsClient(), settings.deadLetterQueueUrl);
  const returnToQueue = overrides.returnToQueue ?? createSqsReturnToQueue(sqsClient, log);

  const requestTimeoutMs = settings.requestTimeoutSeconds * 1000;
  const client = createPagerDutyClient({
    url: settings.eventsUrl ?? EVENTS_URLS[settings.pagerDutyRegion],
    transport: overrides.transport ?? fetchTransport,
    clock,
    timeoutMs: requestTimeoutMs,
  });
  // Each route's routing key is read from its own parameter, and sent with on its own schedule (PagerDuty's limit
  // is per key): one team's backlog never holds another team's page.
  const channelOf = (parameterName: string, pacingId: string): Channel => {
    const routingKey = createSecretParameter({
      parameterName,
      what: "PagerDuty routing key",
      expected: "a PagerDuty Events API v2 routing key",
      problemOf: describeRoutingKeyProblem,
      read: readParameter,
      ttlMs: settings.routingKeyTtlSeconds * 1000,
      clock,
      log,
    });
    return {
      routingKey: (deadline) => routingKey.get(deadline),
      deliver: createDelivery({
        client,
        pacer: createPacer({
          store: pacingStore,
          id: pacingId,
          eventsPerMinute: settings.eventsPerMinute,
          clock,
          log,
        }),
        clock,
        random,
        requestTimeoutMs,
        retryBaseMs: DELIVERY_TUNING.retryBaseMs,
        retryMaxMs: DELIVERY_TUNING.retryMaxMs,
        rateLimitHoldOffMs: DELIVERY_TUNING.rateLimitHoldOffMs,
        meter,
      }),
    };
  };
  const routes = settings.routes ?? [];
  /** A route's integrations' channels; the first key's schedule keeps the id it always had. */
  const channelsOf = (parameterName: string, pacingId: string, integrations = 1): Channel[] =>
    integrationParameterNames(parameterName, integrations).map((name, index) =>
      channelOf(name, index === 0 ? pacingId : name),
    );
  const defaultChannel = {
    channels: channelsOf(settings.parameterName, settings.pacingId, settings.integrations),
    service: settings.serviceName,
    urgency: settings.urgency,
  };
  const channels = new Map([
    [DEFAULT_ROUTE, defaultChannel],
    ...routes.map((route): [string, typeof defaultChannel] => [
      route.name,
      {
        channels: channelsOf(route.parameterName, route.parameterName, route.integrations),
        service: route.serviceName,
        urgency: routeUrgency(settings.urgency, route.supportHours),
      },
    ]),
  ]);
  // An alert on a route since removed from the stack is resolved through the default route's key, in vain: its
  // service is no longer the stack's to reach. So is one on an integration since removed, through its route's first.
  const channelEntry = (integration: string) =>
    channels.get(routeOfIntegration(integration).route) ?? defaultChannel;
  const channelAt = (integration: string): Channel => {
    const { channels: keys } = channelEntry(integration);
    return (keys[routeOfIntegration(integration).nth - 1] ?? keys[0]) as Channel;
  };
  const accountFacts =
    overrides.accountFacts ??
    (settings.organizations === undefined || !routes.some((route) => needsAccountFacts(route.match))
      ? undefined
      : createAccountFacts({
          reads:
            overrides.organizationsReads ??
            organizationsReads(organizationsClient(settings.organizations.roleArn)),
          ttlMs: settings.organizations.cacheMinutes * 60_000,
          failureMemoryMs: ACCOUNT_FACTS_TUNING.failureMemoryMs,
          budgetMs: ACCOUNT_FACTS_TUNING.budgetMs,
          unitNames: routes.some((route) =>
            (route.match.organizationalUnits ?? []).some((unit) => !/^(ou|r)-/.test(unit)),
          ),
          clock,
          log,
        }));
  const rules = routes.map(({ name, match }) => ({ name, match }));
  const routeOf = async (finding: Finding): Promise<RouteChoice> => {
    const account =
      accountFacts === undefined || finding.account === undefined
        ? undefined
        : await accountFacts(finding.account);
    return chooseRoute(finding, rules, account);
  };
  const writeToSecurityHub = settings.securityHubSync
    ? createSecurityHubWriter({
        updater:
          overrides.findingUpdater ?? createSecurityHubUpdater(new SecurityHubClient(AWS_CLIENT_CONFIG)),
        pacingStore,
        clock,
        random,
        log,
        meter,
      })
    : undefined;
  const common = {
    filter: settings.filter,
    accountScope: settings.accountScope ?? { include: [], exclude: [] },
    routeOf,
    channel: channelAt,
    integrationOf: (route: string, alertKey: string) =>
      integrationOf(route, channelEntry(route).channels.length, alertKey),
    channelService: (route: string) => channelEntry(route).service,
    urgency: (route: string) => channelEntry(route).urgency,
    groups: groupStore,
    grouping: settings.grouping ?? ALERT_PER_FINDING,
    deadLetter,
    log,
    meter,
    clock,
  };
  // The alert state a batch reads ahead and the write-backs it gathers are the invocation's own.
  const dependenciesFor = () => {
    const reads = prefetchingStore(alertStore, clock.now);
    const perInvocation = {
      ...common,
      alerts: createAlertTracker({
        store: reads.store,
        clock,
        log,
        refreshMs: settings.alertRefreshHours * 3600_000,
        resolveUntrackedUntil: settings.resolveUntrackedUntil ?? 0,
        writeBack: settings.securityHubSync,
        meter,
      }),
      prefetch: reads.prefetch,
      recordConcurrency: settings.recordConcurrency ?? HANDLER_DEFAULTS.recordConcurrency,
    };
    if (writeToSecurityHub === undefined)
      return {
        ...perInvocation,
        writeBack: undefined,
        flushWriteBack: undefined,
      } satisfies BatchDependencies;
    const pages = createPageWriteBack({
      write: writeToSecurityHub,
      clock,
      log,
    });
    return {
      ...perInvocation,
      writeBack: pages.add,
      flushWriteBack: pages.flush,
    } satisfies BatchDependencies;
  };

  return async function handler(
    event: unknown,
    context?: LambdaContext,
  ): Promise<SqsBatchResponse | DirectInvocationResult> {
    try {
      return await handle(event, context);
    } finally {
      meter.flush();
    }
  };

  async function handle(
    event: unknown,
    context?: LambdaContext,
  ): Promise<SqsBatchResponse | DirectInvocationResult> {
    const budget = context?.getRemainingTimeInMillis() ?? DELIVERY_TUNING.contextlessBudgetMs;
    const deadline = clock.now() + budget - DELIVERY_TUNING.deadlineMarginMs;
    if (isSqsEvent(event)) {
      // A record queued behind its key's schedule comes back half a send window before its slot: the invocation
      // that receives it holds it when the slot comes, and the key's schedule is not left idle in between.
      const queuedLeadMs = Math.max(0, deadline - clock.now() - requestTimeoutMs) / 2;
      const records: InboundRecord[] = event.Records.map((record) => ({
        messageId: record.messageId,
        body: record.body,
        reading: readRecordBody(record.body),
        receiveCount: Number(record.attributes?.ApproximateReceiveCount ?? "1"),
      }));
      const results = await processRecords(records, dependenciesFor(), deadline);
      const now = clock.now();
      const handBacks: HandBack[] = [];
      for (const [index, result] of results.entries()) {
        const record = event.Records[index];
        if (result.outcome !== "handedBack" || record?.receiptHandle === undefined) continue;
        if (record.eventSourceARN === undefined) continue;
        handBacks.push({
          queueArn: record.eventSourceARN,
          receiptHandle: record.receiptHandle,
          visibilitySeconds: visibilitySecondsFor(
            result.queued === true && result.retryAt !== undefined
              ? result.retryAt - queuedLeadMs
              : result.retryAt,
            now,
            DELIVERY_TUNING.handBackRetryMs,
            records[index]?.receiveCount ?? 1,
            result.queued === true,
          ),
        });
      }
      if (handBacks.length > 0) await returnToQueue(handBacks);
      return {
        batchItemFailures: results
          .filter((result) => result.outcome === "handedBack")
          .map((result) => ({ itemIdentifier: result.messageId })),
      };
    }
    const id = isObject(event) && typeof event.id === "string" ? event.id : "direct-invocation";
    const results = await processRecords(
      [{ messageId: id, body: JSON.stringify(event), reading: readEvent(event) }],
      dependenciesFor(),
      deadline,
    );
    const handedBack = results.find((result) => result.outcome === "handedBack");
    // Failing the invocation is how a direct (asynchronous) invoker is told to try again.
    if (handedBack !== undefined)
      throw new Error(`event not delivered, retry later: ${handedBack.reason ?? ""}`);
    return { results };
  }
}
