import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SecurityHubClient } from "@aws-sdk/client-securityhub";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { SSMClient } from "@aws-sdk/client-ssm";
import type { Scheduler } from "fast-check";
import { integrationsOf, readStackConfig, type StackConfig } from "../../config";
import type { Clock } from "../../handler/clock";
import { createSqsDeadLetterSender } from "../../handler/delivery/deadLetters";
import { createSqsReturnToQueue, queueUrlOf } from "../../handler/delivery/handBack";
import type { Transport } from "../../handler/delivery/pagerduty";
import { readFinding } from "../../handler/finding/read";
import { routeFinding } from "../../handler/finding/route";
import { integrationParameterNames } from "../../handler/finding/routes";
import { createHandler, type SqsBatchResponse } from "../../handler/index";
import { settingsFromEnvironment, settingsToEnvironment, type HandlerSettings } from "../../handler/settings";
import { createSsmReader } from "../../handler/ssm";
import {
  createDynamoAlertStore,
  createDynamoGroupStore,
  createDynamoPacingStore,
} from "../../handler/state/dynamo";
import {
  ROTATION_GRACE_MS,
  createWebhookHandler,
  type FunctionUrlResponse,
} from "../../handler/sync/endpoint";
import { MAX_PREVIOUS_VERSIONS } from "../../handler/secretParameter";
import { createMemoryWebhookLedger, type WebhookLedger } from "../../handler/sync/ledger";
import { createSecurityHubUpdater, identityOf, refOf } from "../../handler/sync/securityHub";
import { silentLogger, type LogFields, type Logger } from "../../handler/telemetry/log";
import { lanesOf, stackRules, type Lane, type RulePlan } from "../../infra/eventPatterns";
import { deliveryPlan, functionSettings, type DeliveryPlan } from "../../infra/tuning";
import { AwsError } from "../../standins/awsJson";
import { createDynamoDbService, type DynamoDbService } from "../../standins/dynamodb";
import { createPagerDutyModel, type Alert, type PagerDutyModel } from "../../standins/pagerdutyModel";
import { sign, webhookPayload, type Agent, type WebhookType } from "../../standins/pagerdutyWebhooks";
import { createSecurityHubService, type SecurityHubService } from "../../standins/securityHub";
import { createSqsOperations } from "../../standins/sqs";
import { createSsmService } from "../../standins/ssm";
import { matchesPattern } from "../patternMatcher";
import { planSettings } from "../plan";
import { inProcessClient } from "../simulation/inProcessAws";
import { SimQueue, sqsEventOf } from "../simulation/queue";
import { createVirtualTime, seededRandom, type VirtualTime } from "../simulation/virtualTime";
import { mapConfigSource } from "../stackConfig";
import { importedEvent } from "../simulation/findings";
import type { Member, Observation } from "./invariants";
import { dedupKeyOfDocument, subjects, type Condition, type Subject } from "./findings";
import { ALERT_PER_FINDING, groupOf, type Grouping } from "../../handler/finding/control";
import type { Finding } from "../../handler/finding/model";

// One stack, deployed in memory, running the real delivery handler and webhook function against the benchmark's
// stand-ins (the in-process DynamoDB table behind the real stores, the strict PagerDuty model, the Security Hub
// model, SSM, SQS queues with visibility and redrive) on a virtual clock. Every call a container makes to a
// service is a point where fast-check's scheduler chooses which of the pending calls goes next, so that two
// invocations (or an invocation and a webhook) interleave in every order the scheduler can draw. A container
// Lambda stops (its timeout, or an abandoned invocation) never resumes: its pending calls never return.

type Json = Record<string, unknown>;

export const START = Date.UTC(2026, 0, 5, 9, 0, 0);
const ROUTING_KEY = "R0UT1NGKEY0F7HESTACK000000000000".slice(0, 32);
const PARAMETER = "electriceye-pagerduty";
const SECRET_PARAMETER = "electriceye-pagerduty-webhook-secret";
const TABLE = "electriceye-pagerduty-state";
const DEAD_LETTER_URL = "https://sqs.us-east-1.amazonaws.com/111122223333/electriceye-pagerduty-dead-letters";
/** The webhook function's timeout (infra/securityHubSync.ts) and how long PagerDuty waits for its answer. */
const WEBHOOK_TIMEOUT_MS = 10_000;
const WEBHOOK_ANSWER_WAIT_MS = 5_000;
const RESPONDER = { id: "PUSER01", name: "Ada Lovelace" };

/** The stack as deployed, derived once: its configuration, rules, lanes and the function's settings. */
export interface Stack {
  config: StackConfig;
  plan: DeliveryPlan;
  rules: RulePlan[];
  lanes: Lane[];
  settings: HandlerSettings;
}

export function explorerStack(overrides: Record<string, string> = {}): Stack {
  const config = readStackConfig(
    mapConfigSource(
      planSettings("prod", {
        // The control finding of the new Security Hub is paged too, so that both feeds of one finding are explored.
        "electriceye-pagerduty:products": JSON.stringify(["ElectricEye", "Security Hub"]),
        "electriceye-pagerduty:findingFormats": "both",
        ...overrides,
      }).settings,
    ),
  );
  const plan = deliveryPlan(config.delivery);
  const rules = stackRules(config);
  const settings = functionSettings({
    stack: config.stack,
    parameterName: PARAMETER,
    integrations: integrationsOf(config.pagerduty),
    pagerDutyRegion: config.pagerDutyRegion,
    filter: config.filter,
    plan,
    deadLetterQueueUrl: DEAD_LETTER_URL,
    stateTable: TABLE,
    alertState: config.alertState,
    sync: config.sync,
    grouping: config.grouping,
  });
  return { config, plan, rules, lanes: lanesOf(rules), settings };
}

/** With alertPer: control, the group a member's alert is (its held documents name one control and account). */
function alertKeyOfFindings(findings: Finding[], grouping: Grouping | undefined): { alertKey?: string } {
  const group = findings.flatMap((finding) => groupOf(finding, grouping ?? ALERT_PER_FINDING) ?? [])[0];
  return group === undefined ? {} : { alertKey: group.dedupKey };
}

export type PagerDutyFault = "429" | "500" | "timeout" | "lostAnswer";

/** One request PagerDuty received, with what the sender heard back. */
export interface PagerDutyRequest {
  at: number;
  dedupKey: string;
  action: string;
  status: number | "timeout";
  /** PagerDuty accepted it but the answer never reached the sender. */
  answerLost: boolean;
  sender?: Invocation;
  /** What the accepted event changed: opened, updated (the page shows something else), resolved, or nothing. */
  change?: "opened" | "updated" | "resolved" | "none";
}

export interface WebhookDelivery {
  id: string;
  type: WebhookType;
  dedupKey: string;
  payload: Json;
  /** What each attempt got: an HTTP status and the answer's status field, or "no answer". */
  attempts: string[];
  state: "pending" | "delivered" | "dropped";
  /** Some attempt applied or knowingly ignored it (not only "duplicate"). */
  taken: boolean;
  /**
   * The secret of the subscription that delivers it: the one current when the event occurred. A rotation replaces
   * the subscription, and only the new one signs with the new secret; the old one keeps delivering (and retrying)
   * what occurred before, signed with its own.
   */
  secret: string;
}

/** A person's resolution of a finding's alert in PagerDuty, while the finding was failing. */
export interface ResponderHold {
  at: number;
  incidentId: string;
  /** How many documents the finding had emitted then: what it emits next comes after, even at the same instant. */
  emitted: number;
}

export interface Invocation {
  id: number;
  what: string;
  container: Container;
  done: boolean;
  stopped: boolean;
  from: number;
  to?: number;
  /** The findings of its records. */
  dedupKeys: string[];
}

interface Container {
  alive: boolean;
  /** The invocation it runs now. */
  current?: Invocation;
  handler: (event: never, context?: never) => Promise<unknown>;
}

/** One finding's history as the world knows it. */
export interface SubjectState {
  subject: Subject;
  dedupKey: string;
  /** The product's last scan of it, as the next scan would import it again. */
  lastCondition?: Condition;
  lastUpdatedAt?: number;
  /** Each document Security Hub emitted for the finding (imports and a person's workflow changes), in order. */
  emitted: { at: number; document: Json }[];
  hold?: ResponderHold;
}

export class LifecycleWorld {
  readonly time: VirtualTime;
  readonly pagerduty: PagerDutyModel;
  readonly securityHub: SecurityHubService;
  readonly trace: string[] = [];
  readonly requests: PagerDutyRequest[] = [];
  readonly webhooks: WebhookDelivery[] = [];
  readonly subjects: SubjectState[];
  /** Events Security Hub emitted that EventBridge has not yet put in a lane (delivered in any order). */
  readonly eventBus: { body: string; what: string }[] = [];
  readonly queues = new Map<Lane, SimQueue>();
  /** Records SQS moved to the dead-letter queue by itself (maxReceiveCount), without a reason. */
  readonly redriven: SimQueue;
  /** Records the function dead-lettered, with its reason. */
  readonly deadLettered: { body: string; reason: string }[] = [];
  readonly running = new Set<Invocation>();
  private readonly invocationLog: Invocation[] = [];
  /** Records put in a lane, by message id. */
  readonly recordsSent = new Map<string, string>();
  readonly recordsDone = new Set<string>();
  readonly deadLetteredIds = new Set<string>();
  /** Pages whose write-back the delivery function left to a person's triage, as it logged them. */
  readonly writeBacksLeft: { at: number; dedupKey: string }[] = [];
  /** A person's workflow changes in the Security Hub console. */
  readonly consoleChanges: { at: number; dedupKey: string }[] = [];
  /** Security Hub updates that took effect: the findings each named, its note, when. */
  readonly securityHubWrites: { findingIds: string[]; note: string; notified: boolean; at: number }[] = [];

  private readonly random: () => number;
  private readonly dynamodb: DynamoDbService;
  private readonly ssm;
  private readonly ledger: WebhookLedger = createMemoryWebhookLedger();
  private readonly idle = new Map<string, Container[]>();
  private readonly pagerdutyFaults: PagerDutyFault[] = [];
  private securityHubThrottles = 0;
  /** Security Hub's next events follow a person's update in the console (not the stack's own write-back). */
  private personUpdating = false;
  private secret = "whsec-first-secret-of-the-subscription";
  private readonly rotations: number[] = [];
  private readonly reopenings: { at: number; dedupKey: string }[] = [];
  private readonly resolutions: { at: number; dedupKey: string }[] = [];
  private invocations = 0;
  private webhookIds = 0;
  private events = 0;

  constructor(
    private readonly scheduler: Scheduler,
    readonly stack: Stack,
    seed: number,
    /** PagerDuty has a webhook subscription for the stack's service. */
    private readonly subscribed = true,
    /** The trace also shows the functions' log lines and every write of an alert's state. */
    private readonly logs = false,
  ) {
    this.time = createVirtualTime(START);
    this.ssm = createSsmService("us-east-1", this.time.now);
    this.random = seededRandom(seed);
    // One key per integration of the stack's service (--config integrations=N); the first is the stack's own.
    const keys = integrationParameterNames(PARAMETER, stack.settings.integrations ?? 1).map(
      (parameterName, index): [string, string] => [
        parameterName,
        index === 0 ? ROUTING_KEY : `${ROUTING_KEY.slice(0, 30)}${String(index + 1).padStart(2, "0")}`,
      ],
    );
    this.pagerduty = createPagerDutyModel({ routingKeys: keys.map(([, key]) => key), now: this.time.now });
    this.securityHub = createSecurityHubService(
      (event) =>
        this.emit(
          event,
          this.personUpdating ? "a person's update in the console" : "the echo of a write-back",
          {
            echo: !this.personUpdating,
          },
        ),
      this.time.now,
    );
    this.dynamodb = createDynamoDbService([TABLE]);
    if (logs) this.traceAlertWrites();
    for (const [parameterName, key] of keys) this.ssm.putParameter(parameterName, key);
    this.ssm.putParameter(SECRET_PARAMETER, this.secret);
    this.redriven = new SimQueue({ name: "dead-letters", visibilityTimeoutMs: 0 });
    for (const lane of stack.lanes)
      this.queues.set(
        lane,
        new SimQueue({
          name: lane,
          visibilityTimeoutMs: stack.plan.visibilityTimeoutSeconds * 1000,
          maxReceiveCount: stack.plan.maxReceiveCount,
          deadLetters: this.redriven,
        }),
      );
    this.subjects = subjects().map((subject) => ({
      subject,
      dedupKey: dedupKeyOfDocument(subject.documents({ kind: "passed" }, START)[0] as Json),
      emitted: [],
    }));
  }

  now(): number {
    return this.time.now();
  }

  log(line: string): void {
    this.trace.push(`${((this.now() - START) / 1000).toFixed(3)}s ${line}`);
  }

  // --- What products, people and PagerDuty do -------------------------------------------------------------------

  /** A product's scan imports a finding into Security Hub, which emits its events. */
  importFinding(index: number, condition: Condition): void {
    this.actionTick();
    const state = this.subjectAt(index);
    const updatedAt = Math.max(this.now(), (state.lastUpdatedAt ?? 0) + 1);
    state.lastCondition = condition;
    state.lastUpdatedAt = updatedAt;
    const label = condition.kind === "failing" ? `failing ${condition.severity}` : condition.kind;
    for (const document of state.subject.documents(condition, updatedAt)) {
      const held =
        "finding_info" in document
          ? this.securityHub.importFindingsV2([document])
          : this.securityHub.importFindings([document]);
      for (const finding of held)
        this.emit(importedEvent([finding], new Date(this.now())), `${state.subject.name} ${label}`);
    }
  }

  /** A person sets a finding's workflow in the Security Hub console (UpdatedAt stays as it was). */
  setWorkflow(index: number, workflow: "SUPPRESSED" | "RESOLVED"): void {
    this.actionTick();
    const state = this.subjectAt(index);
    const held = state.emitted.at(-1)?.document;
    if (!state.subject.asffOnly || held === undefined) return;
    this.consoleChanges.push({ at: this.now(), dedupKey: state.dedupKey });
    this.personUpdating = true;
    this.securityHub.batchUpdateFindings({
      FindingIdentifiers: [{ Id: held.Id, ProductArn: held.ProductArn }],
      Workflow: { Status: workflow },
      Note: { Text: `Set to ${workflow} in the console`, UpdatedBy: "ada" },
    });
    this.personUpdating = false;
  }

  /** EventBridge puts one waiting event in its lanes (waiting events go in any order: out-of-order UpdatedAt). */
  route(pick: number): void {
    if (this.eventBus.length === 0) return;
    const [event] = this.eventBus.splice(pick % this.eventBus.length, 1);
    if (event === undefined) return;
    const parsed = JSON.parse(event.body) as Json;
    const lanes = [
      ...new Set(
        this.stack.rules.filter((rule) => matchesPattern(rule.pattern, parsed)).map((rule) => rule.lane),
      ),
    ];
    this.log(`EventBridge: ${event.what} -> ${lanes.length === 0 ? "no rule" : lanes.join(", ")}`);
    for (const lane of lanes) {
      const message = (this.queues.get(lane) as SimQueue).send(event.body, this.now());
      this.recordsSent.set(message.id, event.what);
    }
  }

  /** EventBridge puts every waiting event in its lanes, in the order they were emitted. */
  routeAll(): void {
    while (this.eventBus.length > 0) this.route(0);
  }

  /** A responder acts on the finding's alert in PagerDuty's web app; PagerDuty's webhook tells the stack. */
  respond(index: number, action: "acknowledge" | "resolve" | "reopen"): void {
    this.actionTick();
    const state = this.subjectAt(index);
    const history = this.pagerduty.alerts().filter((alert) => alert.dedupKey === state.dedupKey);
    const last = history.at(-1);
    const open = history.find((alert) => alert.status !== "resolved");
    // A responder reopens only what a responder resolved.
    const target =
      action === "reopen"
        ? last?.status === "resolved" && last.responder !== undefined && open === undefined
          ? last
          : undefined
        : open;
    if (target === undefined) return;
    this.pagerduty.respond(state.dedupKey, action, RESPONDER);
    this.log(`responder: ${action} ${state.subject.name} (incident ${target.incidentId})`);
    if (action === "resolve") this.resolutions.push({ at: this.now(), dedupKey: state.dedupKey });
    if (action === "resolve" && this.failingNow(state))
      state.hold = { at: this.now(), incidentId: target.incidentId, emitted: state.emitted.length };
    if (action === "reopen") {
      delete state.hold;
      this.reopenings.push({ at: this.now(), dedupKey: state.dedupKey });
    }
    const type =
      action === "acknowledge"
        ? "incident.acknowledged"
        : action === "resolve"
          ? "incident.resolved"
          : "incident.reopened";
    this.queueWebhook(target, type, RESPONDER, state.dedupKey);
  }

  /** PagerDuty delivers a webhook (its first attempt, a retry, or a replay of a delivered one). */
  deliverWebhook(pick: number, replay: boolean): void {
    const candidates = this.webhooks.filter((entry) =>
      replay ? entry.state === "delivered" : entry.state === "pending",
    );
    const entry = candidates[pick % Math.max(1, candidates.length)];
    if (entry !== undefined) this.attemptWebhook(entry, replay);
  }

  private attemptWebhook(entry: WebhookDelivery, replay: boolean): void {
    const body = JSON.stringify(entry.payload);
    const container = this.container("webhook", () => this.webhookContainer());
    const invocation = this.startInvocation(
      container,
      `webhook ${entry.type} ${entry.id}`,
      WEBHOOK_TIMEOUT_MS,
      [entry.dedupKey],
    );
    let answered = false;
    this.time.at(this.now() + WEBHOOK_ANSWER_WAIT_MS, () => {
      if (answered) return;
      answered = true;
      if (!replay) entry.attempts.push("no answer within 5 s");
    });
    void (container.handler as (request: Json) => Promise<FunctionUrlResponse>)({
      headers: { "x-pagerduty-signature": sign(body, entry.secret) },
      body,
      requestContext: { http: { method: "POST" } },
    }).then((response) => {
      this.finishInvocation(invocation, "webhook");
      const status = (JSON.parse(response.body) as { status?: string }).status ?? "";
      this.log(`webhook ${entry.id} answered ${response.statusCode} ${status}`);
      if (status === "applied" || status === "ignored") entry.taken = true;
      if (answered || replay) return;
      answered = true;
      entry.attempts.push(`${response.statusCode} ${status}`);
      if (response.statusCode >= 200 && response.statusCode < 300) entry.state = "delivered";
      // PagerDuty retries 429 and 5xx; any other 4xx drops the delivery for good.
      else if (response.statusCode !== 429 && response.statusCode < 500) entry.state = "dropped";
    });
  }

  /**
   * The subscription is replaced (docs/sync.md), which changes its signing secret in SSM and PagerDuty. The stack
   * covers as many rotations within its grace period as it reads earlier versions (deliveries of older
   * subscriptions are refused, as documented): more are not explored.
   */
  rotateSecret(): void {
    const recent = this.rotations.filter((at) => this.now() - at < ROTATION_GRACE_MS);
    if (recent.length >= MAX_PREVIOUS_VERSIONS) return;
    this.rotations.push(this.now());
    this.secret = `whsec-rotated-${this.now()}-secret`;
    this.ssm.putParameter(SECRET_PARAMETER, this.secret);
    this.log("webhook signing secret rotated");
  }

  pagerdutyFault(fault: PagerDutyFault, count: number): void {
    for (let index = 0; index < count; index += 1) this.pagerdutyFaults.push(fault);
  }

  throttleSecurityHub(count: number): void {
    this.securityHubThrottles += count;
  }

  clearFaults(): void {
    this.pagerdutyFaults.length = 0;
    this.securityHubThrottles = 0;
  }

  // --- Lambda ---------------------------------------------------------------------------------------------------

  /** The event source mapping invokes the function with a batch of the lane's visible records. */
  invoke(lane: Lane, batchSize: number): void {
    const queue = this.queues.get(lane);
    if (queue === undefined) return;
    const batch = queue.receive(Math.min(batchSize, this.stack.plan.batchSize), this.now());
    if (batch.length === 0) return;
    const container = this.container(lane, () => this.deliveryContainer());
    const timeoutMs = this.stack.plan.functionTimeoutSeconds * 1000;
    const deadline = this.now() + timeoutMs;
    const invocation = this.startInvocation(
      container,
      `${lane} lane [${batch.map((message) => this.recordsSent.get(message.id) ?? message.id).join("; ")}]`,
      timeoutMs,
      batch.flatMap((message) => {
        const detail = (JSON.parse(message.body) as { detail?: { findings?: Json[] } }).detail;
        return (detail?.findings ?? []).map(dedupKeyOfDocument);
      }),
    );
    const event = sqsEventOf(batch, queueArnOf(lane));
    void (container.handler as (event: unknown, context: unknown) => Promise<SqsBatchResponse>)(event, {
      getRemainingTimeInMillis: () => deadline - this.now(),
    }).then((response) => {
      this.finishInvocation(invocation, lane);
      const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
      this.log(`inv${invocation.id} returned, handed back ${failed.size} of ${batch.length}`);
      for (const message of batch) {
        if (failed.has(message.id)) continue;
        queue.delete(message);
        this.recordsDone.add(message.id);
      }
    });
  }

  /** Abandons a running invocation mid-way, as a Lambda timeout or a crash does. */
  abandon(pick: number): void {
    const invocation = [...this.running][pick % Math.max(1, this.running.size)];
    if (invocation !== undefined) this.stop(invocation, "abandoned");
  }

  /** Lets time pass: calls complete in the order the scheduler draws; timers fire when nothing else can run. */
  async advance(ms: number): Promise<void> {
    const until = this.now() + ms;
    let reached = false;
    this.time.at(until, () => {
      reached = true;
    });
    for (;;) {
      await this.time.run(() => this.scheduler.count() > 0 || reached);
      if (this.scheduler.count() > 0) {
        await this.scheduler.waitOne();
        continue;
      }
      return;
    }
  }

  /**
   * Settled: faults cleared, every waiting event routed, every webhook delivered (PagerDuty retries 429, 5xx and
   * unanswered deliveries), every lane drained and its handed-back records redelivered once visible, nothing
   * running. Answers false if that is not reached within `rounds`.
   */
  async settle(rounds = 40): Promise<boolean> {
    this.clearFaults();
    for (let round = 0; round < rounds; round += 1) {
      this.routeAll();
      for (const entry of this.webhooks.filter((candidate) => candidate.state === "pending"))
        this.attemptWebhook(entry, false);
      for (const lane of this.stack.lanes)
        while ((this.queues.get(lane) as SimQueue).hasVisible(this.now())) {
          const before = this.running.size;
          this.invoke(lane, this.stack.plan.batchSize);
          if (this.running.size === before) break;
        }
      await this.advance(WEBHOOK_TIMEOUT_MS);
      if (this.running.size > 0) await this.advance(this.stack.plan.functionTimeoutSeconds * 1000);
      const waiting = [...this.queues.values()]
        .map((queue) => queue.nextVisibleAt(this.now()))
        .filter((at): at is number => at !== undefined);
      const quiet =
        this.eventBus.length === 0 &&
        this.running.size === 0 &&
        !this.webhooks.some((entry) => entry.state === "pending") &&
        [...this.queues.values()].every((queue) => queue.size === 0);
      if (quiet) return true;
      if (waiting.length > 0 && ![...this.queues.values()].some((queue) => queue.hasVisible(this.now())))
        await this.advance(Math.min(...waiting) - this.now());
    }
    return false;
  }

  /** The next scan: each finding the product scanned is imported again as it last was, with a newer UpdatedAt. */
  rescan(): void {
    this.subjects.forEach((state, index) => {
      if (state.lastCondition !== undefined) this.importFinding(index, state.lastCondition);
    });
  }

  /** What Security Hub holds of each feed of a finding now: the documents the finding's last events carried. */
  heldDocuments(state: SubjectState): Json[] {
    const latest = new Map<string, Json>();
    for (const { document } of state.emitted)
      latest.set("finding_info" in document ? "ocsf" : "asff", document);
    return [...latest.values()];
  }

  /** Whether the stack's filter pages on the finding as Security Hub holds it (any of its feeds). */
  failingNow(state: SubjectState): boolean {
    return this.heldDocuments(state).some((document) => {
      const routed = routeFinding(document, this.stack.settings.filter);
      return routed.kind === "send" && routed.action === "trigger";
    });
  }

  /** A responder's resolution holds the finding until it passes after it. */
  heldNow(state: SubjectState): boolean {
    const hold = state.hold;
    if (hold === undefined) return false;
    return !state.emitted.slice(hold.emitted).some(({ document }) => {
      const routed = routeFinding(document, this.stack.settings.filter);
      return routed.kind === "send" && routed.action === "resolve" && routed.passed;
    });
  }

  observe(): Observation {
    const members = this.subjects.map((state): Member => {
      const documents = this.heldDocuments(state);
      const findings = documents.flatMap((document) => {
        const reading = readFinding(document);
        return reading.ok ? [reading.finding] : [];
      });
      return {
        name: state.subject.name,
        dedupKey: state.dedupKey,
        failing: this.failingNow(state),
        held: this.heldNow(state),
        findingIds: findings.map((finding) => finding.id),
        ...alertKeyOfFindings(findings, this.stack.settings.grouping),
        writable: findings.some((finding) => refOf(identityOf(finding)) !== undefined),
      };
    });
    const unexplainedRecords: string[] = [];
    for (const [id, what] of this.recordsSent) {
      if (this.recordsDone.has(id) || this.deadLetteredIds.has(id)) continue;
      const waiting = [...this.queues.values()].some((queue) =>
        queue.all().some((message) => message.id === id),
      );
      unexplainedRecords.push(
        `${id} (${what}) ${waiting ? "is still in its lane" : `moved to the dead-letter queue by SQS after ${this.stack.plan.maxReceiveCount} receives, without a reason`}`,
      );
    }
    return {
      members,
      alerts: this.pagerduty.alerts().map((alert) => ({
        dedupKey: alert.dedupKey,
        incidentId: alert.incidentId,
        open: alert.status !== "resolved",
        openedAt: alert.openedAt,
        resolvedByResponder: alert.status === "resolved" && alert.responder !== undefined,
      })),
      requests: this.requests.map(({ sender, answerLost, ...request }) => ({
        ...request,
        unheard: answerLost || sender?.stopped === true,
        ...(sender === undefined ? {} : { sender: sender.id }),
      })),
      webhooks: this.webhooks.map(({ payload: _, ...webhook }) => webhook),
      unexplainedRecords,
      securityHubUpdates: this.securityHubWrites,
      securityHubSync: this.stack.settings.securityHubSync,
      start: START,
      stopped: this.invocationLog
        .filter((invocation) => invocation.stopped)
        .map((invocation) => ({ at: invocation.to ?? this.now(), dedupKeys: invocation.dedupKeys })),
      reopenings: this.reopenings,
      resolutions: this.resolutions,
      writeBacksLeft: this.writeBacksLeft,
      consoleChanges: this.consoleChanges,
      invocations: this.invocationLog.map(({ id, from, to }) => ({ id, from, to: to ?? this.now() })),
    };
  }

  // --- Plumbing -------------------------------------------------------------------------------------------------

  private subjectAt(index: number): SubjectState {
    return this.subjects[index % this.subjects.length] as SubjectState;
  }

  /**
   * EventBridge gets Security Hub's event. What the finding is, for the invariants, is what its product's scans and
   * people made it: the echo of the stack's own write-back is delivered like any event, but its workflow (NOTIFIED,
   * set blindly: BatchUpdateFindings has no condition) is not a new state of the finding.
   */
  private emit(event: Json, what: string, options: { echo: boolean } = { echo: false }): void {
    const detail = event.detail as { findings?: Json[] } | undefined;
    for (const document of options.echo ? [] : (detail?.findings ?? [])) {
      const state = this.subjects.find((candidate) => candidate.dedupKey === dedupKeyOfDocument(document));
      state?.emitted.push({ at: this.now(), document });
    }
    // Every event gets its own id, and `time` in whole seconds as EventBridge gives it.
    this.events += 1;
    const time = `${new Date(this.now()).toISOString().slice(0, 19)}Z`;
    const stamped = { ...event, id: `event-${this.events}`, time };
    this.eventBus.push({ body: JSON.stringify(stamped), what });
  }

  /**
   * A scan's import, a responder's action and a person's change in the console each happen a millisecond after what
   * came before, so that their clocks (a finding's UpdatedAt, a webhook's occurred_at) order them as they happened,
   * as wall clocks do. Nothing else runs meanwhile: the interleavings explored stay the same.
   */
  private actionTick(): void {
    this.time.tick(1);
  }

  private queueWebhook(alert: Alert, type: WebhookType, agent: Agent, dedupKey: string): void {
    if (!this.subscribed) return;
    this.webhookIds += 1;
    const id = `W${this.webhookIds}`;
    this.webhooks.push({
      id,
      type,
      dedupKey,
      payload: webhookPayload(this.pagerduty, alert, type, agent, {
        id,
        occurredAt: new Date(this.now()),
      }),
      attempts: [],
      state: "pending",
      taken: false,
      secret: this.secret,
    });
  }

  private container(pool: string, create: () => Container): Container {
    const idle = this.idle.get(pool) ?? [];
    this.idle.set(pool, idle);
    return idle.pop() ?? create();
  }

  private startInvocation(
    container: Container,
    what: string,
    timeoutMs: number,
    dedupKeys: string[],
  ): Invocation {
    this.invocations += 1;
    const invocation: Invocation = {
      id: this.invocations,
      what,
      container,
      done: false,
      stopped: false,
      from: this.now(),
      dedupKeys,
    };
    this.invocationLog.push(invocation);
    container.current = invocation;
    this.running.add(invocation);
    this.log(`inv${invocation.id} starts: ${what}`);
    this.time.at(this.now() + timeoutMs, () => {
      if (!invocation.done) this.stop(invocation, "timed out");
    });
    return invocation;
  }

  private finishInvocation(invocation: Invocation, pool: string): void {
    invocation.done = true;
    invocation.to = this.now();
    this.running.delete(invocation);
    this.idle.get(pool)?.push(invocation.container);
  }

  private stop(invocation: Invocation, why: string): void {
    invocation.done = true;
    invocation.stopped = true;
    invocation.to = this.now();
    invocation.container.alive = false;
    this.running.delete(invocation);
    this.log(`inv${invocation.id} ${why}: its pending calls never return`);
  }

  /** A call to a service: the scheduler decides when it goes; a stopped container never gets it back. */
  private async call(container: Container, label: string): Promise<void> {
    await this.scheduler.schedule(Promise.resolve(), label);
    if (!container.alive) await new Promise(() => undefined);
  }

  /** The clock a container sees; its service clients' latency is a scheduling point instead of a timer. */
  private clockOf(container: Container): Clock {
    return {
      now: () => this.time.now(),
      sleep: (ms, signal) =>
        container.alive ? this.time.clock.sleep(ms, signal) : new Promise(() => undefined),
    };
  }

  private serviceClient<T>(
    container: Container,
    operations: Parameters<typeof inProcessClient>[0],
    fault?: (operation: string) => AwsError | undefined,
  ): T {
    return inProcessClient<T>(operations, {
      clock: { now: () => this.now(), sleep: () => this.call(container, "aws") },
      latencyMs: 0,
      fault: (operation) => {
        const error = fault?.(operation);
        this.log(`${operation}${error === undefined ? "" : ` -> ${error.type}`}`);
        return error;
      },
    });
  }

  private securityHubClient(container: Container): SecurityHubClient {
    return this.serviceClient<SecurityHubClient>(
      container,
      {
        BatchUpdateFindings: (input) => {
          const output = this.securityHub.batchUpdateFindings(input);
          this.securityHubWrites.push({
            findingIds: ((output.ProcessedFindings ?? []) as Json[]).map((entry) => String(entry.Id)),
            note: String((input.Note as Json | undefined)?.Text ?? ""),
            notified: (input.Workflow as Json | undefined)?.Status === "NOTIFIED",
            at: this.now(),
          });
          return output;
        },
        BatchUpdateFindingsV2: (input) => {
          const output = this.securityHub.batchUpdateFindingsV2(input);
          this.securityHubWrites.push({
            findingIds: ((output.ProcessedFindings ?? []) as Json[]).map((entry) =>
              String((entry.FindingIdentifier as Json | undefined)?.FindingInfoUid),
            ),
            note: String(input.Comment ?? ""),
            // OCSF status_id 2: In Progress, what the stack writes for NOTIFIED (handler/sync/securityHub.ts).
            notified: input.StatusId === 2,
            at: this.now(),
          });
          return output;
        },
      },
      () => {
        if (this.securityHubThrottles <= 0) return undefined;
        this.securityHubThrottles -= 1;
        return new AwsError("ThrottlingException", "Rate exceeded", 429);
      },
    );
  }

  private transportOf(container: Container): Transport {
    return async ({ body }) => {
      await this.call(container, "PagerDuty");
      const event = JSON.parse(body) as { event_action: string; dedup_key: string };
      const fault = this.pagerdutyFaults.shift();
      const request: PagerDutyRequest = {
        at: this.now(),
        dedupKey: event.dedup_key,
        action: event.event_action,
        status: 0,
        answerLost: fault === "lostAnswer",
        ...(container.current === undefined ? {} : { sender: container.current }),
      };
      this.requests.push(request);
      if (fault === "429" || fault === "500" || fault === "timeout") {
        request.status = fault === "timeout" ? "timeout" : Number(fault);
        this.log(`PagerDuty ${event.event_action} ${this.nameOf(event.dedup_key)} -> ${fault}`);
        if (fault === "timeout") await new Promise(() => undefined);
        return { status: Number(fault), body: '{"status":"error"}' };
      }
      const before = this.alertsOf(event.dedup_key);
      const answer = this.pagerduty.receive(body);
      request.status = answer.status;
      if (answer.status === 202) request.change = this.observeChange(event.dedup_key, before);
      this.log(
        `PagerDuty ${event.event_action} ${this.nameOf(event.dedup_key)} -> ${answer.status}${request.change === undefined ? "" : ` (${request.change})`}${fault === "lostAnswer" ? ", answer lost" : ""}`,
      );
      if (fault === "lostAnswer") await new Promise(() => undefined);
      return answer;
    };
  }

  private alertsOf(dedupKey: string): { incidentId: string; status: string; event: string }[] {
    return this.pagerduty
      .alerts()
      .filter((alert) => alert.dedupKey === dedupKey)
      .map((alert) => ({
        incidentId: alert.incidentId,
        status: alert.status,
        event: JSON.stringify(shown(alert.event)),
      }));
  }

  /** What an accepted event changed; PagerDuty's webhook tells the stack of an opened or resolved incident. */
  private observeChange(
    dedupKey: string,
    before: { incidentId: string; status: string; event: string }[],
  ): PagerDutyRequest["change"] {
    const after = this.pagerduty.alerts().filter((alert) => alert.dedupKey === dedupKey);
    const opened = after.find((alert) => !before.some((known) => known.incidentId === alert.incidentId));
    if (opened !== undefined) {
      this.queueWebhook(opened, "incident.triggered", "events-api", dedupKey);
      return "opened";
    }
    const resolved = after.find(
      (alert) =>
        alert.status === "resolved" &&
        before.some((known) => known.incidentId === alert.incidentId && known.status !== "resolved"),
    );
    if (resolved !== undefined) {
      this.queueWebhook(resolved, "incident.resolved", "events-api", dedupKey);
      return "resolved";
    }
    const updated = after.some((alert) =>
      before.some(
        (known) =>
          known.incidentId === alert.incidentId &&
          alert.status !== "resolved" &&
          known.event !== JSON.stringify(shown(alert.event)),
      ),
    );
    return updated ? "updated" : "none";
  }

  private laneOfUrl(url: string): SimQueue | undefined {
    return this.stack.lanes
      .filter((lane) => queueUrlOf(queueArnOf(lane)) === url)
      .map((lane) => this.queues.get(lane))
      .find((queue) => queue !== undefined);
  }

  nameOf(dedupKey: string): string {
    return this.subjects.find((state) => state.dedupKey === dedupKey)?.subject.name ?? dedupKey;
  }

  private deliveryContainer(): Container {
    const container: Container = { alive: true, handler: () => Promise.resolve(undefined) };
    const clock = this.clockOf(container);
    const dynamodb = this.serviceClient<DynamoDBClient>(container, this.dynamodb.operations);
    const sqs = this.serviceClient<SQSClient>(
      container,
      createSqsOperations(
        (url) => url === DEAD_LETTER_URL || this.laneOfUrl(url) !== undefined,
        (message) => {
          this.deadLettered.push({ body: message.body, reason: message.attributes.reason ?? "" });
          const source = message.attributes.sourceMessageId;
          if (source === undefined) return;
          this.deadLetteredIds.add(source);
          this.log(`dead-lettered ${source}: ${message.attributes.reason ?? ""}`);
        },
        (url, receiptHandle, seconds) => {
          this.log(`visibility of ${receiptHandle} set to ${seconds} s`);
          const queue = this.laneOfUrl(url);
          if (queue?.changeVisibility(receiptHandle, seconds * 1000, this.now()) !== true)
            throw new AwsError("ReceiptHandleIsInvalid", "The input receipt handle is invalid.");
        },
      ),
    );
    // The settings make the same round trip through the environment as in the deployed function.
    const settings = settingsFromEnvironment(settingsToEnvironment(this.stack.settings));
    container.handler = createHandler(settings, {
      clock,
      random: this.random,
      transport: this.transportOf(container),
      readParameter: createSsmReader(this.serviceClient<SSMClient>(container, this.ssm.sdkOperations)),
      pacingStore: createDynamoPacingStore(dynamodb, TABLE),
      alertStore: createDynamoAlertStore(dynamodb, TABLE),
      groupStore: createDynamoGroupStore(dynamodb, TABLE),
      deadLetter: createSqsDeadLetterSender(sqs, DEAD_LETTER_URL),
      returnToQueue: createSqsReturnToQueue(() => sqs, silentLogger),
      findingUpdater: createSecurityHubUpdater(this.securityHubClient(container)),
      log: this.deliveryLog(),
      writeMetrics: () => undefined,
    }) as Container["handler"];
    return container;
  }

  /** The delivery function's log: it must explain each write-back it leaves to a person. */
  private deliveryLog(): Logger {
    return this.functionLog("delivery", (message, fields) => {
      if (message === "page not written back to Security Hub")
        this.writeBacksLeft.push({ at: this.now(), dedupKey: String(fields.dedupKey) });
    });
  }

  /** A function's log: in the trace with `logs`, else silent. */
  private functionLog(name: string, also?: (message: string, fields: LogFields) => void): Logger {
    const line =
      (level: string) =>
      (message: string, fields: LogFields = {}) => {
        if (this.logs) this.log(`${name} ${level}: ${message} ${JSON.stringify(fields)}`);
        also?.(message, fields);
      };
    return { info: line("info"), warn: line("warn"), error: line("error") };
  }

  /** Each alert state written (`logs`), its attributes as DynamoDB holds them. */
  private traceAlertWrites(): void {
    const operations = this.dynamodb.operations;
    const put = operations.PutItem;
    if (put === undefined) return;
    operations.PutItem = (input) => {
      const output = put(input);
      const item = (input as { Item?: Record<string, Record<string, unknown>> }).Item ?? {};
      if (String(item.id?.S).startsWith("alert#")) {
        const shown = Object.entries(item).map(
          ([name, value]) => `${name}=${JSON.stringify(value.S ?? value.N ?? value.BOOL ?? value)}`,
        );
        this.log(`state ${shown.join(" ")}`);
      }
      return output;
    };
  }

  private webhookContainer(): Container {
    const container: Container = { alive: true, handler: () => Promise.resolve(undefined) };
    const dynamodb = this.serviceClient<DynamoDBClient>(container, this.dynamodb.operations);
    const ledger = this.ledger;
    const through =
      <A extends unknown[], R>(name: string, method: (...args: A) => Promise<R>) =>
      async (...args: A): Promise<R> => {
        await this.call(container, name);
        this.log(`ledger ${name}`);
        return method(...args);
      };
    container.handler = createWebhookHandler(
      {
        stack: this.stack.config.stack,
        secretParameterName: SECRET_PARAMETER,
        serviceId: this.pagerduty.serviceId,
        stateTable: TABLE,
        secretTtlSeconds: 300,
      },
      {
        clock: this.clockOf(container),
        random: this.random,
        readParameter: createSsmReader(this.serviceClient<SSMClient>(container, this.ssm.sdkOperations)),
        alertStore: createDynamoAlertStore(dynamodb, TABLE),
        groupStore: createDynamoGroupStore(dynamodb, TABLE),
        // The ledger's conditions are richer than the in-process table evaluates: the in-memory ledger, which
        // keeps the same claim rules, behind the same scheduling points.
        ledger: {
          claim: through("claim", ledger.claim),
          settle: through("settle", ledger.settle),
          dedupKeyOfIncident: through("incident lookup", ledger.dedupKeyOfIncident),
          rememberIncident: through("incident write", ledger.rememberIncident),
        },
        pacingStore: createDynamoPacingStore(dynamodb, TABLE),
        findingUpdater: createSecurityHubUpdater(this.securityHubClient(container)),
        log: this.functionLog("webhook"),
        writeMetrics: () => undefined,
      },
    ) as Container["handler"];
    return container;
  }
}

function queueArnOf(lane: Lane): string {
  return `arn:aws:sqs:us-east-1:111122223333:${lane}`;
}

/** What a page shows, as a responder sees it change (the event's time aside). */
function shown(event: Record<string, unknown>): unknown {
  const payload = (event.payload ?? {}) as Record<string, unknown>;
  return [payload.summary, payload.severity, payload.source, payload.component, payload.class];
}
