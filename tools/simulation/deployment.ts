import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { SSMClient } from "@aws-sdk/client-ssm";
import type { OrganizationsReads } from "../../handler/accounts/organizations";
import type { Clock } from "../../handler/clock";
import { createSqsDeadLetterSender } from "../../handler/delivery/deadLetters";
import { createSqsReturnToQueue, queueUrlOf } from "../../handler/delivery/handBack";
import {
  createDynamoAlertStore,
  createDynamoGroupStore,
  createDynamoPacingStore,
} from "../../handler/state/dynamo";
import { createHandler, type SqsBatchResponse } from "../../handler/index";
import { createJsonLogger } from "../../handler/telemetry/log";
import type { Transport } from "../../handler/delivery/pagerduty";
import { settingsFromEnvironment, settingsToEnvironment, type HandlerSettings } from "../../handler/settings";
import { createSsmReader } from "../../handler/ssm";
import { findingIdOf } from "../../handler/sync/securityHub";
import type { Lane } from "../../infra/eventPatterns";
import { mappingOf, type DeliveryPlan } from "../../infra/tuning";
import { AwsError } from "../../standins/awsJson";
import { createDynamoDbService } from "../../standins/dynamodb";
import { createSqsOperations } from "../../standins/sqs";
import { createSsmService } from "../../standins/ssm";
import { inProcessClient } from "./inProcessAws";
import { SimQueue, sqsEventOf, type MessageBody, type SimMessage } from "./queue";
import type { VirtualTime } from "./virtualTime";

/** Latencies of the simulated AWS side, in virtual milliseconds. */
export const AWS_LATENCY = {
  receiveMs: 20,
  invokeMs: 10,
  coldStartMs: 400,
  ssmMs: 15,
  dynamodbMs: 6,
  sqsMs: 10,
  securityHubMs: 60,
  organizationsMs: 40,
} as const;

export interface DeploymentOptions {
  /** Names the stack (one per account and routing key). */
  name: string;
  time: VirtualTime;
  random: () => number;
  routingKey: string;
  /** Each route's routing key, in the parameter the function reads it from. */
  routeKeys: { parameterName: string; routingKey: string }[];
  /** AWS Organizations, read by the function when its routes match on account tags or OUs. */
  organizations?: OrganizationsReads;
  /** The function's settings as the Pulumi program writes them. */
  settings: HandlerSettings;
  plan: DeliveryPlan;
  /** The function's memory, for its billed GB-seconds. */
  memorySizeMb: number;
  lanes: Lane[];
  /** The PagerDuty Events API, shared by every deployment (its limits are per routing key). */
  transport: Transport;
  /** Makes an SSM call fail, e.g. with throttling. */
  ssmFault?: () => AwsError | undefined;
}

export interface DeploymentStats {
  invocations: number;
  /** Billed duration times memory, cold starts included (Lambda bills the init phase). */
  gbSeconds: number;
  /** Requests to the lane queues: EventBridge's sends, the event source mappings' receives and batch deletes. */
  sqsRequests: number;
  /** Bytes written to the function's log group: log lines and embedded-metric lines. */
  logBytes: number;
  coldStarts: number;
  timedOut: number;
  handedBack: number;
  /** The most times any record handed to the function had been received (the queue dead-letters it past maxReceiveCount). */
  mostReceives: number;
  /** Calls of the state table, by operation. */
  dynamodb: Record<string, number>;
  /** Findings written back to Security Hub. */
  securityHubWrites: number;
}

interface Container {
  alive: boolean;
  handler: (event: unknown, context: { getRemainingTimeInMillis(): number }) => Promise<unknown>;
}

/**
 * One stack as deployed: a queue per lane with its dead-letter redrive, an event source mapping per lane
 * (batch size, maximum concurrency, partial batch responses), and Lambda containers running the real handler
 * with its real SSM reader, dead-letter sender and pacing store against in-process stand-ins.
 */
export class Deployment {
  readonly deadLetters: SimQueue;
  readonly queues = new Map<Lane, SimQueue>();
  readonly stats: DeploymentStats = {
    invocations: 0,
    gbSeconds: 0,
    sqsRequests: 0,
    logBytes: 0,
    coldStarts: 0,
    timedOut: 0,
    handedBack: 0,
    mostReceives: 0,
    dynamodb: {},
    securityHubWrites: 0,
  };
  /**
   * Findings whose workflow Security Hub now holds as NOTIFIED (In Progress), by finding id: a product's re-import
   * keeps a customer's workflow, so their next imports show it.
   */
  readonly notified = new Set<string>();
  private readonly inFlight = new Map<Lane, number>();
  private readonly wakeups = new Map<Lane, number>();
  /** Since when each lane's mapping has been gathering a batch in its window. */
  private readonly gathering = new Map<Lane, number>();
  private readonly idle: Container[] = [];
  private readonly deadLetterUrl: string;
  private readonly ssm = createSsmService();
  private readonly dynamodb;

  readonly settings: HandlerSettings;

  constructor(private readonly options: DeploymentOptions) {
    const { plan, settings } = options;
    this.settings = settings;
    this.deadLetters = new SimQueue({
      name: `${options.name}-dead-letters`,
      visibilityTimeoutMs: plan.visibilityTimeoutSeconds * 1000,
    });
    for (const lane of options.lanes) {
      this.queues.set(
        lane,
        new SimQueue({
          name: `${options.name}-${lane}`,
          visibilityTimeoutMs: plan.visibilityTimeoutSeconds * 1000,
          maxReceiveCount: plan.maxReceiveCount,
          deadLetters: this.deadLetters,
        }),
      );
      this.inFlight.set(lane, 0);
    }
    this.deadLetterUrl = settings.deadLetterQueueUrl ?? "";
    this.dynamodb = createDynamoDbService([settings.stateTable ?? ""]);
    this.ssm.putParameter(settings.parameterName, options.routingKey);
    for (const route of options.routeKeys) this.ssm.putParameter(route.parameterName, route.routingKey);
  }

  /** Whether any record waits in a lane or is being processed. */
  busy(): boolean {
    for (const queue of this.queues.values()) if (queue.size > 0) return true;
    for (const count of this.inFlight.values()) if (count > 0) return true;
    return false;
  }

  /** EventBridge puts an event into a lane's queue. */
  deliver(lane: Lane, body: MessageBody): void {
    const queue = this.queues.get(lane);
    if (queue === undefined) throw new Error(`${this.options.name} has no ${lane} lane`);
    queue.send(body, this.options.time.now());
    this.stats.sqsRequests += 1;
    this.poll(lane);
  }

  /**
   * The event source mapping: as many batches in flight as the maximum concurrency allows. With a batching window,
   * a batch that is not full waits until the window since its first visible record has passed.
   */
  private poll(lane: Lane): void {
    const { time, plan } = this.options;
    const queue = this.queues.get(lane) as SimQueue;
    const { batchSize, maximumBatchingWindowSeconds } = mappingOf(plan, lane);
    while ((this.inFlight.get(lane) ?? 0) < plan.maximumConcurrency && queue.hasVisible(time.now())) {
      if (maximumBatchingWindowSeconds > 0 && queue.visibleCount(time.now()) < batchSize) {
        const since = this.gathering.get(lane) ?? time.now();
        const ready = since + maximumBatchingWindowSeconds * 1000;
        if (time.now() < ready) {
          if (!this.gathering.has(lane)) {
            this.gathering.set(lane, since);
            time.at(ready, () => this.poll(lane));
          }
          break;
        }
      }
      this.gathering.delete(lane);
      const batch = queue.receive(batchSize, time.now());
      if (batch.length === 0) break;
      this.stats.sqsRequests += 1;
      this.inFlight.set(lane, (this.inFlight.get(lane) ?? 0) + 1);
      time.at(time.now() + AWS_LATENCY.receiveMs, () => void this.invoke(lane, queue, batch));
    }
    const next = queue.nextVisibleAt(time.now());
    if (next !== undefined && (this.wakeups.get(lane) ?? Infinity) > next) {
      this.wakeups.set(lane, next);
      time.at(next, () => {
        this.wakeups.delete(lane);
        this.poll(lane);
      });
    }
  }

  private async invoke(lane: Lane, queue: SimQueue, batch: SimMessage[]): Promise<void> {
    const { time, plan } = this.options;
    this.stats.invocations += 1;
    for (const message of batch)
      if (message.receiveCount > this.stats.mostReceives) this.stats.mostReceives = message.receiveCount;
    const startedAt = time.now();
    let container = this.idle.pop();
    if (container === undefined) {
      this.stats.coldStarts += 1;
      await time.clock.sleep(AWS_LATENCY.coldStartMs);
      container = this.newContainer();
    }
    await time.clock.sleep(AWS_LATENCY.invokeMs);
    const deadline = time.now() + plan.functionTimeoutSeconds * 1000;
    const event = sqsEventOf(batch, `arn:aws:sqs:us-east-1:111122223333:${queue.name}`);
    let stopTimer: () => void = () => undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      stopTimer = time.cancellable(time.now() + plan.functionTimeoutSeconds * 1000, () => resolve("timeout"));
    });
    const outcome = await Promise.race([
      container.handler(event, { getRemainingTimeInMillis: () => deadline - time.now() }),
      timedOut,
    ]);
    stopTimer();
    this.stats.gbSeconds += ((time.now() - startedAt) / 1000) * (this.options.memorySizeMb / 1024);
    if (outcome === "timeout") {
      // Lambda stops a function at its timeout: the container is gone, its records come back after visibility.
      this.stats.timedOut += 1;
      container.alive = false;
    } else {
      const failed = new Set(
        (outcome as SqsBatchResponse).batchItemFailures.map((failure) => failure.itemIdentifier),
      );
      this.stats.handedBack += failed.size;
      let deleted = 0;
      for (const message of batch) {
        if (failed.has(message.id)) continue;
        queue.delete(message);
        deleted += 1;
      }
      // The event source mapping deletes what succeeded with DeleteMessageBatch, ten entries a request.
      this.stats.sqsRequests += Math.ceil(deleted / 10);
      this.idle.push(container);
    }
    this.inFlight.set(lane, (this.inFlight.get(lane) ?? 1) - 1);
    this.poll(lane);
  }

  // Each line also carries CloudWatch's timestamp and request id prefix, about 60 bytes.
  private readonly countLogBytes = (line: string): void => {
    this.stats.logBytes += line.length + 60;
  };

  private newContainer(): Container {
    const { time, random } = this.options;
    const container: Container = { alive: true, handler: async () => ({ batchItemFailures: [] }) };
    // A stopped container never wakes again: its waits never end.
    const clock: Clock = {
      now: () => time.now(),
      sleep: (ms, signal) => (container.alive ? time.clock.sleep(ms, signal) : new Promise(() => undefined)),
    };
    const transport: Transport = (request) =>
      container.alive ? this.options.transport(request) : new Promise(() => undefined);
    const ssmClient = inProcessClient<SSMClient>(this.ssm.sdkOperations, {
      clock,
      latencyMs: AWS_LATENCY.ssmMs,
      ...(this.options.ssmFault === undefined ? {} : { fault: this.options.ssmFault }),
    });
    const lanes = new Map(
      [...this.queues.values()].map((queue) => [
        queueUrlOf(`arn:aws:sqs:us-east-1:111122223333:${queue.name}`),
        queue,
      ]),
    );
    const sqsClient = inProcessClient<SQSClient>(
      createSqsOperations(
        (url) => url === this.deadLetterUrl || lanes.has(url),
        (message) => this.deadLetters.send(message.body, time.now(), message.attributes),
        (url, receiptHandle, seconds) => {
          if (lanes.get(url)?.changeVisibility(receiptHandle, seconds * 1000, time.now()) !== true)
            throw new AwsError("ReceiptHandleIsInvalid", "The input receipt handle is invalid.");
        },
      ),
      { clock, latencyMs: AWS_LATENCY.sqsMs },
    );
    const dynamodbClient = inProcessClient<DynamoDBClient>(this.dynamodb.operations, {
      clock,
      latencyMs: AWS_LATENCY.dynamodbMs,
      copies: true,
      onCall: (operation, input) => {
        this.stats.dynamodb[operation] = (this.stats.dynamodb[operation] ?? 0) + 1;
        // Each key of a BatchGetItem is one read request unit, as a GetItem is.
        if (operation === "BatchGetItem")
          this.stats.dynamodb.BatchGetItemKeys =
            (this.stats.dynamodb.BatchGetItemKeys ?? 0) + batchGetKeys(input);
      },
    });
    // The settings make the same round trip through the environment as in the deployed function.
    const settings = settingsFromEnvironment(settingsToEnvironment(this.options.settings));
    // What the function writes to its log group is counted, not kept: it is part of what the stack costs.
    const log = createJsonLogger(this.countLogBytes);
    container.handler = createHandler(settings, {
      clock,
      random,
      transport,
      readParameter: createSsmReader(ssmClient),
      pacingStore: createDynamoPacingStore(dynamodbClient, settings.stateTable ?? ""),
      alertStore: createDynamoAlertStore(dynamodbClient, settings.stateTable ?? "", (ms) => clock.sleep(ms)),
      groupStore: createDynamoGroupStore(dynamodbClient, settings.stateTable ?? ""),
      deadLetter: createSqsDeadLetterSender(sqsClient, this.deadLetterUrl),
      returnToQueue: createSqsReturnToQueue(() => sqsClient, log),
      // Security Hub accepts every write-back; the benchmark counts them and keeps the workflow they set (the
      // follow-up Imported events are not simulated: the tests prove they change nothing).
      findingUpdater: async (update) => {
        await clock.sleep(AWS_LATENCY.securityHubMs);
        this.stats.securityHubWrites += update.findings.length;
        for (const finding of update.findings) {
          if (update.workflow === "NOTIFIED") this.notified.add(findingIdOf(finding));
          else if (update.workflow === "RESOLVED") this.notified.delete(findingIdOf(finding));
        }
        return { updated: update.findings, failed: [] };
      },
      log,
      writeMetrics: this.countLogBytes,
      ...(this.options.organizations === undefined
        ? {}
        : { organizationsReads: withLatency(this.options.organizations, clock) }),
    });
    return container;
  }
}

/** Organizations' calls answered after its latency, on the container's clock. */
function withLatency(reads: OrganizationsReads, clock: Clock): OrganizationsReads {
  const later = async <T>(answer: () => Promise<T>): Promise<T> => {
    await clock.sleep(AWS_LATENCY.organizationsMs);
    return answer();
  };
  return {
    listTags: (id, token) => later(() => reads.listTags(id, token)),
    listParents: (id, token) => later(() => reads.listParents(id, token)),
    describeUnit: (id) => later(() => reads.describeUnit(id)),
  };
}

function batchGetKeys(input: Record<string, unknown>): number {
  const requests = (input.RequestItems ?? {}) as Record<string, { Keys?: unknown[] }>;
  return Object.values(requests).reduce((sum, request) => sum + (request.Keys?.length ?? 0), 0);
}
