import { parseArgs } from "util";
import { readStackConfig, type StackConfig } from "../config";
import { readFinding } from "../handler/finding/read";
import { systemClock } from "../handler/clock";
import type { DeadLetter } from "../handler/delivery/deadLetters";
import { decide } from "../handler/finding/filter";
import { createHandler, type SqsBatchResponse } from "../handler/index";
import { createJsonLogger } from "../handler/telemetry/log";
import { createMemoryPacingStore } from "../handler/delivery/pacing";
import { createMemoryAlertStore } from "../handler/state/store";
import { stackRules, type RulePlan } from "../infra/eventPatterns";
import { functionSettings, deliveryPlan } from "../infra/tuning";
import type { Alert } from "../standins/pagerdutyModel";
import { startPagerDutyStandIn } from "../standins/pagerdutyServer";
import { startSecurityHubStandIn } from "../standins/securityHub";
import { SecurityHubClient } from "@aws-sdk/client-securityhub";
import { createSecurityHubUpdater } from "../handler/sync/securityHub";
import { findingsIn, readJsonInput, runTool } from "./cli";
import { matchesPattern } from "./patternMatcher";
import { planSettings } from "./plan";
import { electricEyeFinding, importedEvent, passedReimport } from "./simulation/findings";
import { mapConfigSource } from "./stackConfig";

// The whole path on this machine, on a stack's own settings: Security Hub events through the stack's
// EventBridge rules (matched as EventBridge matches them), into the function's handler (the code that ships),
// out to a local PagerDuty stand-in. No account, no credentials, nothing leaves the machine.

const DEMO_ROUTING_KEY = "0123456789abcdef0123456789abcdef";
// The SDK signs every request; the local stand-ins only check that it did.
const LOCAL_CREDENTIALS = { accessKeyId: "AKIDLOCALSTANDIN", secretAccessKey: "local-stand-in" };
const ACCOUNT = "111122223333";

export interface Step {
  label: string;
  event: Record<string, unknown>;
}

/** The built-in walk-through: what a security engineer sees in a first ElectricEye scan and its follow-ups. */
export function walkThrough(): Step[] {
  const critical = electricEyeFinding("s3-public-policy-critical", "payroll-exports", ACCOUNT);
  const several = electricEyeFinding("s3-encryption-high", "billing-archive", ACCOUNT);
  several.Resources = ["billing-archive", "billing-archive-replica", "billing-archive-logs"].map(
    (bucket) => ({
      Type: "AwsS3Bucket",
      Id: `arn:aws:s3:::${bucket}`,
      Partition: "aws",
      Region: "us-east-1",
    }),
  );
  const medium = {
    ...electricEyeFinding("s3-encryption-high", "marketing-assets", ACCOUNT),
    Id: "arn:aws:s3:::marketing-assets/s3-bucket-lifecycle-configuration-check",
    Title: "[S3.13] Amazon S3 buckets should have a lifecycle policy",
    Severity: { Label: "MEDIUM" },
  };
  const passing = electricEyeFinding("s3-encryption-high", "static-website", ACCOUNT);
  const later = (finding: Record<string, unknown>, time: string) => ({
    ...finding,
    UpdatedAt: time,
    LastObservedAt: time,
  });
  const start = Date.UTC(2026, 0, 5, 9, 0, 0);
  const at = (minutes: number) => new Date(start + minutes * 60_000);
  return [
    { label: "a CRITICAL finding: a public bucket policy", event: importedEvent([critical], at(0)) },
    { label: "a HIGH finding on three buckets", event: importedEvent([several], at(1)) },
    { label: "a MEDIUM finding", event: importedEvent([medium], at(2)) },
    {
      label: "a passed check, re-imported as ElectricEye does on every scan",
      event: importedEvent([later(passedReimport(passing), "2026-01-05T09:03:00.000Z")], at(3)),
    },
    {
      label: "the CRITICAL finding again, re-imported by the next scan",
      event: importedEvent([later(critical, "2026-01-05T21:00:00.000Z")], at(720)),
    },
    {
      label: "its PASSED update, after the bucket policy was fixed",
      event: importedEvent([later(passedReimport(critical), "2026-01-06T09:00:00.000Z")], at(1440)),
    },
  ];
}

/** Steps from a user's file: events as they are, bare findings each in its own Imported event. */
export function stepsFromFile(path: string): Step[] {
  const document = readJsonInput(path);
  const events = Array.isArray(document) ? document : [document];
  if (events.every((event) => typeof event === "object" && event !== null && "detail-type" in event)) {
    return events.map((event, index) => ({
      label: `event ${index + 1} of ${path}`,
      event: event as Record<string, unknown>,
    }));
  }
  return findingsIn(document, path).findings.map(({ finding, origin }) => ({
    label: `${origin} of ${path}`,
    event: importedEvent([finding]),
  }));
}

function describeFinding(raw: unknown): string {
  const reading = readFinding(raw);
  if (!reading.ok) return `(unreadable: ${reading.reason})`;
  const { finding } = reading;
  const lifecycle = [finding.compliance, finding.recordState ?? finding.workflow].filter(Boolean).join(", ");
  return `${finding.severity.label.padEnd(13)} ${finding.title ?? finding.id}${lifecycle === "" ? "" : ` (${lifecycle})`}`;
}

function why(config: StackConfig, raw: unknown): string {
  const reading = readFinding(raw);
  if (!reading.ok) return reading.reason;
  const decision = decide(reading.finding, config.filter);
  return decision.action === "skip"
    ? decision.reason
    : `no rule of the stack matches it (${decision.reason})`;
}

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
}

type LogLine = Record<string, unknown>;

/** What the function did with one finding, said as a person watching PagerDuty would say it. */
function describeOutcome(
  line: LogLine | undefined,
  alert: Alert | undefined,
  number: (alert: Alert) => number | undefined,
  result: WalkResult,
): string {
  const which = alert === undefined ? "" : ` #${number(alert)}`;
  if (line === undefined) return "no outcome logged";
  if (line.message === "finding skipped") {
    switch (line.alert) {
      case "unchanged":
        result.unchanged += 1;
        return `UNCHANGED: alert${which} still open, nothing sent`;
      case "nothingToResolve":
        result.nothingToResolve += 1;
        return "NOTHING TO RESOLVE: it never paged, nothing sent";
      case undefined:
        result.filteredOut += 1;
        return `FILTERED OUT by the function: ${String(line.reason)}`;
      default:
        return `NOT SENT (${String(line.alert)}): ${String(line.reason)}`;
    }
  }
  if (line.outcome !== "accepted")
    return `NOT DELIVERED (${String(line.outcome)}): ${String(line.reason ?? "")}`;
  switch (line.alert) {
    case "new":
    case "regression": {
      result.paged += 1;
      const details = (alert?.event.payload as { custom_details?: { resources?: unknown[] } } | undefined)
        ?.custom_details;
      const resources = details?.resources?.length ?? 0;
      return `PAGED: new alert${which}, severity ${alert?.severity ?? "?"}${resources > 1 ? `, one alert for ${resources} resources` : ""}\n        "${alert?.summary ?? ""}"`;
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

export async function walk(stack: string, steps: Step[], write: (line: string) => void): Promise<WalkResult> {
  const config = readStackConfig(mapConfigSource(planSettings(stack, {}).settings));
  const rules: RulePlan[] = stackRules(config);
  const pagerduty = await startPagerDutyStandIn({ routingKeys: [DEMO_ROUTING_KEY] });
  const securityHub = await startSecurityHubStandIn();
  const deadLetters: DeadLetter[] = [];
  const logs: LogLine[] = [];
  const handler = createHandler(
    {
      ...functionSettings({
        parameterName: config.parameterName,
        pagerDutyRegion: config.pagerDutyRegion,
        filter: config.filter,
        plan: deliveryPlan(config.delivery),
        deadLetterQueueUrl: "local",
        stateTable: "local",
        alertState: config.alertState,
        sync: config.sync,
      }),
      eventsUrl: pagerduty.url,
    },
    {
      clock: systemClock,
      random: Math.random,
      readParameter: () => Promise.resolve(DEMO_ROUTING_KEY),
      pacingStore: createMemoryPacingStore(),
      alertStore: createMemoryAlertStore(),
      findingUpdater: createSecurityHubUpdater(
        new SecurityHubClient({
          endpoint: securityHub.endpoint,
          region: "us-east-1",
          credentials: LOCAL_CREDENTIALS,
        }),
      ),
      deadLetter: (letter) => {
        deadLetters.push(letter);
        return Promise.resolve();
      },
      log: createJsonLogger((line) => logs.push(JSON.parse(line) as LogLine)),
    },
  );
  const labels = config.filter.severityLabels.join(" and ");
  const products = config.filter.products.length === 0 ? "any product" : config.filter.products.join(", ");
  write(
    `Stack "${stack}": pages on ${labels} findings from ${products}; resolutions ${config.resolveRule ? "on" : "off"}.`,
  );
  write(`PagerDuty stand-in at ${pagerduty.url} (nothing leaves this machine).`);
  write("");
  const result: WalkResult = {
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
  };
  const alertOf = (dedupKey: string): Alert | undefined =>
    pagerduty.model
      .alerts()
      .filter((alert) => alert.dedupKey === dedupKey)
      .pop();
  // Alerts numbered in the order they opened, as a person watching the PagerDuty service would count them.
  const numbers = new Map<Alert, number>();
  const number = (alert: Alert) => numbers.get(alert) ?? numbers.set(alert, numbers.size + 1).get(alert);
  try {
    for (const [index, step] of steps.entries()) {
      const findings = ((step.event.detail as { findings?: unknown[] } | undefined)?.findings ??
        []) as Record<string, unknown>[];
      write(`[${index + 1}/${steps.length}] ${step.label}`);
      for (const finding of findings) write(`      ${describeFinding(finding)}`);
      const matched = rules.filter((rule) => matchesPattern(rule.pattern, step.event));
      if (matched.length === 0) {
        result.filteredOut += findings.length;
        write(
          `      FILTERED OUT by the rules: ${findings.map((finding) => why(config, finding)).join("; ") || "no findings"}`,
        );
        write("");
        continue;
      }
      // Security Hub holds the findings it emits events for, so that updates have something to apply to.
      securityHub.importFindings(findings);
      const logged = logs.length;
      for (const rule of matched) {
        write(`      rule "${rule.name}" → ${rule.lane} lane → function`);
        const record = { messageId: `step-${index + 1}-${rule.name}`, body: JSON.stringify(step.event) };
        const response = (await handler({ Records: [record] })) as SqsBatchResponse;
        if (response.batchItemFailures.length > 0) {
          result.handedBack += 1;
          write("      HANDED BACK to the queue (it would be retried)");
        }
      }
      const lines = logs.slice(logged);
      for (const finding of findings) {
        const reading = readFinding(finding);
        const findingId = reading.ok ? reading.finding.id : undefined;
        const line = lines.find(
          (entry) =>
            entry.findingId === findingId &&
            (entry.message === "finding outcome" || entry.message === "finding skipped"),
        );
        const dedupKey = typeof line?.dedupKey === "string" ? line.dedupKey : undefined;
        const alert = dedupKey === undefined ? undefined : alertOf(dedupKey);
        write(`      ${describeOutcome(line, alert, number, result)}`);
      }
      for (const letter of deadLetters.splice(0)) {
        result.deadLettered += 1;
        write(`      DEAD-LETTERED: ${letter.reason}`);
      }
      write("");
    }
  } finally {
    result.openAlerts = pagerduty.model.openAlerts().length;
    result.pagerdutyRequests = pagerduty.model.counts().requests;
    await Promise.all([pagerduty.close(), securityHub.close()]);
  }
  write(
    `Summary: ${result.paged} paged, ${result.updated} updated, ${result.unchanged} unchanged, ${result.resolved} resolved, ${result.nothingToResolve} with nothing to resolve, ${result.filteredOut} filtered out; ${result.pagerdutyRequests} PagerDuty request(s); ${result.openAlerts} alert(s) left open.`,
  );
  return result;
}

const USAGE = `usage: npm start -- [--stack dev|prod] [--file FILE] [--json]
  --stack  whose Pulumi.NAME.yaml rules and settings to use (default dev)
  --json   print one JSON document with the counts instead of the walk-through
  --file   your own findings instead of the built-in walk-through: an EventBridge event, a list of events,
           a finding, a list of findings, or a {"Findings": [...]} batch`;

if (require.main === module) {
  runTool("start", async () => {
    const { values } = parseArgs({
      options: {
        stack: { type: "string" },
        file: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean" },
      },
    });
    if (values.help === true) {
      process.stdout.write(`${USAGE}\n`);
      return;
    }
    const stack = values.stack ?? "dev";
    const steps = values.file === undefined ? walkThrough() : stepsFromFile(values.file);
    if (values.json === true) {
      const result = await walk(stack, steps, () => undefined);
      process.stdout.write(`${JSON.stringify({ stack, ...result }, null, 2)}\n`);
      return;
    }
    const write = (line: string) => process.stdout.write(`${line}\n`);
    write(
      "electriceye-pagerduty: Security Hub → EventBridge rules → SQS → the function → PagerDuty, run locally.",
    );
    await walk(stack, steps, write);
    if (values.file === undefined) {
      write("");
      write(
        `Next: npm start -- --stack ${stack === "dev" ? "prod" : "dev"}   (${stack === "dev" ? "HIGH pages too" : "CRITICAL only"})`,
      );
      write(
        "      npm start -- --file your-findings.json   (e.g. aws securityhub get-findings > your-findings.json)",
      );
    }
  });
}
