import type { StackConfig } from "../../config";
import { IMPORTED_V2 } from "../../handler/finding/events";
import { decide } from "../../handler/finding/filter";
import { readFinding } from "../../handler/finding/read";
import { stackRules } from "../../infra/eventPatterns";
import type { Alert } from "../../standins/pagerdutyModel";
import { OCSF_STATUSES } from "../../standins/securityHub";
import { AwsError } from "../../standins/awsJson";
import type { OrganizationsTree } from "../../standins/organizations";
import { DEFAULT_ROUTE } from "../../handler/finding/routes";
import { deliverWebhook, webhookPayload } from "../../standins/pagerdutyWebhooks";
import { matchesPattern } from "../patternMatcher";
import {
  WEBHOOK_SECRET,
  movedClock,
  nightAfter,
  startLocalStack,
  walkStart,
  type LocalStack,
  type LogLine,
} from "./localStack";
import { RESPONDER, groupWalkThrough, orgWalkThrough, walkThrough, type Step } from "./steps";

// The walk-through: each step through the stack's EventBridge rules (matched as EventBridge matches them) into the
// functions (the code that ships), told as a person watching PagerDuty and Security Hub would tell it.

export interface WalkResult {
  paged: number;
  updated: number;
  unchanged: number;
  resolved: number;
  nothingToResolve: number;
  filteredOut: number;
  deadLettered: number;
  handedBack: number;
  pagerdutyRequests: number;
  openAlerts: number;
  securityHubUpdates: number;
  webhooksRejected: number;
}

function describeFinding(raw: unknown): string {
  const reading = readFinding(raw);
  if (!reading.ok) return `(unreadable: ${reading.reason})`;
  const { finding } = reading;
  const lifecycle = [
    ["compliance", finding.compliance],
    ["record", finding.recordState],
    ["workflow", finding.workflow],
  ]
    .filter(([, state]) => state !== undefined && state !== "")
    .map(([what, state]) => `${what} ${String(state)}`)
    .join(", ");
  return `${finding.severity.label.padEnd(13)} ${finding.title ?? finding.id}${lifecycle === "" ? "" : ` (${lifecycle})`}`;
}

function why(config: StackConfig, raw: unknown): string {
  const reading = readFinding(raw);
  if (!reading.ok) return reading.reason;
  const { format } = reading.finding;
  if (config.findingFormats !== "both" && config.findingFormats !== format) {
    return `it is an ${format.toUpperCase()} finding and the stack's findingFormats is ${config.findingFormats}`;
  }
  const decision = decide(reading.finding, config.filter);
  return decision.action === "skip"
    ? decision.reason
    : `no rule of the stack matches it (${decision.reason})`;
}

/** How the other reasons for sending nothing read. */
const SKIPPED: Record<string, string> = {
  alreadyResolved: "ALREADY RESOLVED",
  heldByResponder: "HELD",
  stale: "STALE",
  groupMember: "IN ITS GROUP",
};

class Narrator {
  readonly result: WalkResult = {
    paged: 0,
    updated: 0,
    unchanged: 0,
    resolved: 0,
    nothingToResolve: 0,
    filteredOut: 0,
    deadLettered: 0,
    handedBack: 0,
    pagerdutyRequests: 0,
    openAlerts: 0,
    securityHubUpdates: 0,
    webhooksRejected: 0,
  };
  // Alerts numbered in the order they opened, as a person watching the PagerDuty service would count them.
  private readonly numbers = new Map<Alert, number>();
  private seenUpdates = 0;

  constructor(
    private readonly config: StackConfig,
    private readonly stack: LocalStack,
    private readonly write: (line: string) => void,
  ) {}

  /** The service a route's alerts are on, as its notes in Security Hub name it. */
  private service(route: unknown): string {
    if (typeof route !== "string" || route === DEFAULT_ROUTE) return `"${this.config.sync.serviceName}"`;
    const found = this.config.routes.find((entry) => entry.name === route);
    return `"${found?.serviceName ?? route}" (route ${route})`;
  }

  /** Unchanged findings that were Security Hub's follow-up events to a write-back, not a scan's re-imports. */
  followUpsUnchanged = 0;

  private number(alert: Alert): number {
    return this.numbers.get(alert) ?? (this.numbers.set(alert, this.numbers.size + 1).get(alert) as number);
  }

  private alertOf(dedupKey: string): Alert | undefined {
    return this.stack.pagerduty.model
      .alerts()
      .filter((alert) => alert.dedupKey === dedupKey)
      .pop();
  }

  /** What the function did with one finding, from its own log line. */
  private outcome(
    line: LogLine | undefined,
    quiet: boolean,
    movedFrom?: unknown,
    /** Why the finding is below the stack's filter, when it fails there: it can only close an alert. */
    below?: string,
  ): string {
    const result = this.result;
    const alert = typeof line?.dedupKey === "string" ? this.alertOf(line.dedupKey) : undefined;
    const which = alert === undefined ? "" : ` #${this.number(alert)}`;
    if (line === undefined) return "no outcome logged";
    if (line.message === "finding skipped") {
      switch (line.alert) {
        case "unchanged":
          result.unchanged += 1;
          if (quiet) this.followUpsUnchanged += 1;
          return `UNCHANGED: alert${which} still open, nothing sent`;
        case "nothingToResolve":
          if (below !== undefined) {
            result.filteredOut += 1;
            return `FILTERED OUT by the function: ${below}; no alert to resolve, nothing sent`;
          }
          result.nothingToResolve += 1;
          return "NOTHING TO RESOLVE: it never paged, nothing sent";
        case undefined:
          result.filteredOut += 1;
          return `FILTERED OUT by the function: ${String(line.reason)}`;
        default:
          return `${SKIPPED[String(line.alert)] ?? "NOT SENT"}: ${String(line.reason)}, nothing sent`;
      }
    }
    if (line.outcome !== "accepted")
      return `NOT DELIVERED (${String(line.outcome)}): ${String(line.reason ?? "")}`;
    const on = this.config.routes.length === 0 ? "" : ` on ${this.service(line.route)}`;
    switch (line.alert) {
      case "moved":
        result.updated += 1;
        return `MOVED alert${which}: resolved on ${this.service(movedFrom)}, opened${on}, once`;
      case "new":
      case "regression": {
        result.paged += 1;
        const details = (
          alert?.event.payload as { custom_details?: { resources?: unknown[]; urgency?: string } } | undefined
        )?.custom_details;
        const resources = details?.resources?.length ?? 0;
        const urgency =
          details?.urgency === undefined ? "" : `; ${details.urgency.replace(": ", " urgency: ")}`;
        return `PAGED${on}: new alert${which}, severity ${alert?.severity ?? "?"}${resources > 1 ? `, one alert for ${resources} resources` : ""}${urgency}\n        "${alert?.summary ?? ""}"`;
      }
      case "resolve":
      case "untracked":
        result.resolved += 1;
        return `RESOLVED alert${which}: the page closes itself`;
      default:
        result.updated += 1;
        return `UPDATED alert${which} (${String(line.alert)}): nobody paged again`;
    }
  }

  /** The findings of an event through the stack's rules and the delivery function; one line per finding. */
  private async deliver(event: Record<string, unknown>, quiet: boolean, label: string): Promise<void> {
    const findings = ((event.detail as { findings?: unknown[] } | undefined)?.findings ?? []) as Record<
      string,
      unknown
    >[];
    const matched = stackRules(this.config).filter((rule) => matchesPattern(rule.pattern, event));
    if (matched.length === 0) {
      if (!quiet) this.result.filteredOut += findings.length;
      this.write(
        `      ${label}FILTERED OUT by the rules: ${findings.map((finding) => why(this.config, finding)).join("; ") || "no findings"}`,
      );
      return;
    }
    const logged = this.stack.logs.length;
    for (const rule of matched) {
      if (!quiet) this.write(`      rule "${rule.name}" → ${rule.lane} lane → function`);
      const record = { messageId: `${rule.name}-${logged}`, body: JSON.stringify(event) };
      const response = (await this.stack.delivery({ Records: [record] })) as { batchItemFailures: unknown[] };
      if (response.batchItemFailures.length > 0) {
        this.result.handedBack += 1;
        this.write("      HANDED BACK to the queue (it would be retried)");
      }
    }
    const lines = this.stack.logs.slice(logged);
    for (const finding of findings) {
      const reading = readFinding(finding);
      const id = reading.ok ? reading.finding.id : undefined;
      const own = lines.filter((entry) => entry.findingId === id);
      const fallback = own.find(
        (entry) => entry.message === "default route taken: account facts unavailable",
      );
      if (fallback !== undefined)
        this.write(
          `      ${label}DEFAULT ROUTE: AWS Organizations could not be read (${String(fallback.error)})`,
        );
      const outcomes = own.filter(
        (entry) => entry.message === "finding outcome" || entry.message === "finding skipped",
      );
      // A move logs the resolve on the service it leaves, then the event on the one it joins.
      const movedFrom = outcomes.find(
        (entry) => entry.alert === "moved" && entry.action === "resolve",
      )?.route;
      const decision = reading.ok ? decide(reading.finding, this.config.filter) : undefined;
      const below = decision?.action === "resolve" && decision.below === true ? decision.reason : undefined;
      this.write(`      ${label}${this.outcome(outcomes.pop(), quiet, movedFrom, below)}`);
    }
    for (const letter of this.stack.deadLetters.splice(0)) {
      this.result.deadLettered += 1;
      this.write(`      DEAD-LETTERED: ${letter.reason}`);
    }
  }

  /** What was written to Security Hub since the last look, then Security Hub's follow-up events through the stack. */
  private async securityHub(): Promise<void> {
    const updates = this.stack.securityHub.updates.slice(this.seenUpdates);
    this.seenUpdates = this.stack.securityHub.updates.length;
    for (const update of updates) {
      this.result.securityHubUpdates += 1;
      // BatchUpdateFindings sets Workflow and Note; BatchUpdateFindingsV2 a StatusId and a Comment.
      const workflow = (update.Workflow as { Status?: string } | undefined)?.Status;
      const status = typeof update.StatusId === "number" ? OCSF_STATUSES[update.StatusId] : undefined;
      const note = (update.Note as { Text?: string } | undefined)?.Text ?? update.Comment;
      const changes = [
        ...(workflow === undefined ? [] : [`Workflow → ${workflow}`]),
        ...(status === undefined ? [] : [`status → ${status}`]),
        ...(typeof note === "string" ? [`${"Comment" in update ? "comment" : "note"} "${note}"`] : []),
      ];
      this.write(`      SECURITY HUB: ${changes.join("; ")}`);
    }
    for (const event of this.stack.securityHub.drainEvents())
      await this.deliver(event, true, "Security Hub's own follow-up event: ");
  }

  async event(step: Extract<Step, { kind: "event" }>): Promise<void> {
    if (step.organizationsDenied === true)
      this.stack.organizations?.failNext(
        "*",
        new AwsError("AccessDeniedException", "You don't have permissions to access this resource."),
        10,
      );
    const detail = step.event.detail as { findings?: Record<string, unknown>[] } | undefined;
    // Security Hub holds the findings its events carry, with what customers set on them.
    const securityHub = this.stack.securityHub;
    const held =
      step.event["detail-type"] === IMPORTED_V2
        ? securityHub.importFindingsV2(detail?.findings ?? [])
        : securityHub.importFindings(detail?.findings ?? []);
    const event = { ...step.event, detail: { ...detail, findings: held } };
    for (const finding of held) this.write(`      ${describeFinding(finding)}`);
    await this.deliver(event, false, "");
    await this.securityHub();
  }

  async webhook(step: Exclude<Step, { kind: "event" }>): Promise<void> {
    const url = this.stack.webhookUrl;
    const alert = this.stack.pagerduty.model
      .alerts()
      .filter(
        (entry) =>
          (entry.event.payload as { custom_details?: { finding_id?: string } }).custom_details?.finding_id ===
          step.findingId,
      )
      .pop();
    if (url === undefined || alert === undefined) {
      this.write("      (no alert of this finding to act on)");
      return;
    }
    if (step.kind === "forged") {
      // A second after PagerDuty's last delivery: within a second of reading the secret the endpoint answers an
      // unverifiable signature 503 (a rotation may not be seen yet), after it 401 (docs/sync.md).
      this.stack.clock.moveTo(this.stack.clock.now() + 1_000);
      const body = JSON.stringify(
        webhookPayload(this.stack.pagerduty.model, alert, "incident.resolved", RESPONDER, {
          occurredAt: new Date(this.stack.clock.now()),
        }),
      );
      const answer = await deliverWebhook(url, body, WEBHOOK_SECRET, "wrong");
      this.result.webhooksRejected += 1;
      this.write(
        `      REFUSED by the webhook endpoint (HTTP ${answer.status}): ${String((JSON.parse(answer.body) as { reason?: string }).reason)}; nothing changed`,
      );
      return;
    }
    this.stack.pagerduty.model.respond(alert.dedupKey, step.action, RESPONDER);
    const type = step.action === "acknowledge" ? "incident.acknowledged" : "incident.resolved";
    const body = JSON.stringify(
      webhookPayload(this.stack.pagerduty.model, alert, type, RESPONDER, {
        occurredAt: new Date(this.stack.clock.now()),
      }),
    );
    const answer = await deliverWebhook(url, body, WEBHOOK_SECRET);
    this.write(
      `      PagerDuty: alert #${this.number(alert)} ${step.action === "acknowledge" ? "acknowledged" : "resolved"} by ${RESPONDER.name}; signed webhook → endpoint: HTTP ${answer.status}`,
    );
    await this.securityHub();
  }

  finish(): WalkResult {
    this.result.openAlerts = this.stack.pagerduty.model.openAlerts().length;
    this.result.pagerdutyRequests = this.stack.pagerduty.model.counts().requests;
    return this.result;
  }
}

export async function walk(
  config: StackConfig,
  steps: Step[],
  write: (line: string) => void,
  options: {
    metrics?: boolean;
    organization?: OrganizationsTree;
    startAt?: number;
    backlogUntil?: number;
  } = {},
): Promise<WalkResult> {
  const stack = await startLocalStack(
    config,
    movedClock(options.startAt ?? Date.now()),
    options.organization,
    options.backlogUntil,
  );
  const narrator = new Narrator(config, stack, write);
  const labels = config.filter.severityLabels.join(" and ");
  const products = config.filter.products.length === 0 ? "any product" : config.filter.products.join(", ");
  write(
    `Stack "${config.stack}": pages on ${labels} findings from ${products}; resolutions ${config.resolveRule ? "on" : "off"}; two-way sync with Security Hub ${config.sync.enabled ? "on" : "off"}.`,
  );
  write(
    `PagerDuty stand-in at ${stack.pagerduty.url}, Security Hub stand-in at ${stack.securityHub.endpoint} (nothing leaves this machine).`,
  );
  write("");
  try {
    for (const [index, step] of steps.entries()) {
      write(`[${index + 1}/${steps.length}] ${step.label}`);
      if (step.kind === "event" && step.at !== undefined) {
        stack.clock.moveTo(step.at);
        write(`      (it is now ${new Date(step.at).toISOString()})`);
      }
      if (step.kind === "event") await narrator.event(step);
      else await narrator.webhook(step);
      write("");
    }
  } finally {
    narrator.finish();
    await stack.close();
  }
  const result = narrator.result;
  if (options.metrics === true) {
    write(
      "Metrics the functions wrote (CloudWatch embedded metric format, one line per invocation and dimension set):",
    );
    for (const line of stack.metrics) write(`  ${line}`);
  } else {
    write(`The functions wrote ${stack.metrics.length} metric line(s); --metrics shows them.`);
  }
  write("");
  const followUps = narrator.followUpsUnchanged;
  write(
    `Summary: ${result.paged} paged, ${result.updated} updated, ${result.unchanged} unchanged${followUps > 0 ? ` (${followUps} of them Security Hub's follow-up events to a write-back)` : ""}, ${result.resolved} resolved, ${result.nothingToResolve} with nothing to resolve, ${result.filteredOut} filtered out; ${result.pagerdutyRequests} PagerDuty request(s); ${result.openAlerts} alert(s) left open; ${result.securityHubUpdates} Security Hub update(s); ${result.webhooksRejected} webhook(s) refused.`,
  );
  return result;
}

/**
 * The built-in walk-through (an organization's findings on a stack with routes); it takes place inside the stack's
 * support hours, whatever the hour it is run at.
 */
export function walkBuiltIn(
  config: StackConfig,
  write: (line: string) => void,
  options: { metrics?: boolean } = {},
): Promise<WalkResult> {
  const startAt = walkStart(config.urgency.supportHours, Date.now());
  if (config.routes.length > 0) {
    const org = orgWalkThrough(startAt);
    return walk(config, org.steps, write, { ...options, organization: org.organization, startAt });
  }
  if (config.grouping.per === "control")
    return walk(config, groupWalkThrough(startAt), write, { ...options, startAt });
  const customAction = config.sync.enabled ? config.sync.customAction : undefined;
  // The night scene: a HIGH finding outside support hours, after the day's steps (the last is a day later).
  const hours = config.urgency.supportHours;
  const night = hours === undefined ? undefined : nightAfter(hours, startAt + 25 * 3600_000);
  // The stack was first deployed backlogBaselineHours before the walk: its backlog window closes as the walk begins.
  const backlog = config.urgency.backlogBaselineHours > 0 ? { backlogUntil: startAt } : {};
  return walk(config, walkThrough(customAction, startAt, night), write, { ...options, startAt, ...backlog });
}
