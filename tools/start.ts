import { parseArgs } from "util";
import { readStackConfig, type StackConfig } from "../config";
import { severityOf, textAt } from "../handler/finding/asff";
import { systemClock } from "../handler/clock";
import type { DeadLetter } from "../handler/delivery/deadLetters";
import { decide } from "../handler/finding/filter";
import { createHandler, type SqsBatchResponse } from "../handler/index";
import { silentLogger } from "../handler/telemetry/log";
import { dedupKeyOf } from "../handler/finding/mapping";
import { createMemoryPacingStore } from "../handler/delivery/pacing";
import { createMemoryResolutionLedger } from "../handler/state/resolutions";
import { planRules, type RulePlan } from "../infra/eventPatterns";
import { functionSettings, deliveryPlan } from "../infra/tuning";
import type { Alert } from "../standins/pagerdutyModel";
import { startPagerDutyStandIn } from "../standins/pagerdutyServer";
import { findingsIn, readJsonInput, runTool } from "./cli";
import { matchesPattern } from "./patternMatcher";
import { planSettings } from "./plan";
import { electricEyeFinding, importedEvent, passedReimport } from "./simulation/findings";
import { mapConfigSource } from "./stackConfig";

// The whole path on this machine, on a stack's own settings: Security Hub events through the stack's
// EventBridge rules (matched as EventBridge matches them), into the function's handler (the code that ships),
// out to a local PagerDuty stand-in. No account, no credentials, nothing leaves the machine.

const DEMO_ROUTING_KEY = "0123456789abcdef0123456789abcdef";
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

function describeFinding(finding: unknown): string {
  const severity = severityOf(finding).label;
  const title = textAt(finding, "Title") ?? textAt(finding, "Id") ?? "finding without a title";
  const lifecycle = [textAt(finding, "Compliance", "Status"), textAt(finding, "RecordState")]
    .filter(Boolean)
    .join(", ");
  return `${severity.padEnd(13)} ${title}${lifecycle === "" ? "" : ` (${lifecycle})`}`;
}

function why(config: StackConfig, finding: unknown): string {
  const decision = decide(finding, config.filter);
  return decision.action === "skip"
    ? decision.reason
    : `no rule of the stack matches it (${decision.reason})`;
}

export interface WalkResult {
  paged: number;
  deduplicated: number;
  resolved: number;
  filtered: number;
  problems: number;
  openAlerts: number;
}

export async function walk(stack: string, steps: Step[], write: (line: string) => void): Promise<WalkResult> {
  const config = readStackConfig(mapConfigSource(planSettings(stack, {}).settings));
  const rules: RulePlan[] = planRules(config.filter, {
    resolveRule: config.resolveRule,
    priorityLanes: config.priorityLanes,
  });
  const pagerduty = await startPagerDutyStandIn({ routingKeys: [DEMO_ROUTING_KEY] });
  const deadLetters: DeadLetter[] = [];
  const handler = createHandler(
    {
      ...functionSettings({
        parameterName: config.parameterName,
        pagerDutyRegion: config.pagerDutyRegion,
        filter: config.filter,
        plan: deliveryPlan(config.delivery),
        deadLetterQueueUrl: "local",
        stateTable: "local",
      }),
      eventsUrl: pagerduty.url,
    },
    {
      clock: systemClock,
      random: Math.random,
      readParameter: () => Promise.resolve(DEMO_ROUTING_KEY),
      pacingStore: createMemoryPacingStore(),
      resolutionLedger: createMemoryResolutionLedger(),
      deadLetter: (letter) => {
        deadLetters.push(letter);
        return Promise.resolve();
      },
      log: silentLogger,
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
    deduplicated: 0,
    resolved: 0,
    filtered: 0,
    problems: 0,
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
        result.filtered += 1;
        write(
          `      FILTERED OUT by the rules: ${findings.map((finding) => why(config, finding)).join("; ") || "no findings"}`,
        );
        write("");
        continue;
      }
      const openBefore = new Set(pagerduty.model.openAlerts().map((alert) => alert.dedupKey));
      const acceptedBefore = pagerduty.model.accepted().length;
      for (const rule of matched) {
        write(`      rule "${rule.name}" → ${rule.lane} lane → function`);
        const record = { messageId: `step-${index + 1}-${rule.name}`, body: JSON.stringify(step.event) };
        const response = (await handler({ Records: [record] })) as SqsBatchResponse;
        if (response.batchItemFailures.length > 0) {
          result.problems += 1;
          write("      HANDED BACK to the queue (it would be retried)");
        }
      }
      const accepted = pagerduty.model.accepted().slice(acceptedBefore);
      for (const finding of findings) {
        const dedupKey = dedupKeyOf(textAt(finding, "ProductArn"), String(finding.Id));
        const sent = accepted.find((event) => event.dedupKey === dedupKey);
        const alert = alertOf(dedupKey);
        if (sent === undefined || alert === undefined) {
          result.filtered += 1;
          write(`      FILTERED OUT by the function: ${why(config, finding)}`);
        } else if (sent.action === "resolve") {
          result.resolved += openBefore.has(dedupKey) ? 1 : 0;
          write(
            openBefore.has(dedupKey)
              ? `      RESOLVED alert #${number(alert)}: the page closes itself`
              : "      resolve sent; no alert was open (harmless)",
          );
        } else if (openBefore.has(dedupKey)) {
          result.deduplicated += 1;
          write(`      DEDUPLICATED: alert #${number(alert)} updated, nobody paged again`);
        } else {
          result.paged += 1;
          const resources = Array.isArray(finding.Resources) ? finding.Resources.length : 0;
          write(
            `      PAGED: new alert #${number(alert)}, severity ${alert.severity}${resources > 1 ? `, one alert for ${resources} resources` : ""}`,
          );
          write(`        "${alert.summary}"`);
        }
      }
      for (const letter of deadLetters.splice(0)) {
        result.problems += 1;
        write(`      DEAD-LETTERED: ${letter.reason}`);
      }
      write("");
    }
  } finally {
    result.openAlerts = pagerduty.model.openAlerts().length;
    await pagerduty.close();
  }
  write(
    `Summary: ${result.paged} paged, ${result.deduplicated} deduplicated, ${result.resolved} resolved, ${result.filtered} filtered out; ${result.openAlerts} alert(s) left open.`,
  );
  return result;
}

const USAGE = `usage: npm start -- [--stack dev|prod] [--file FILE]
  --stack  whose Pulumi.NAME.yaml rules and settings to use (default dev)
  --file   your own findings instead of the built-in walk-through: an EventBridge event, a list of events,
           a finding, a list of findings, or a {"Findings": [...]} batch`;

if (require.main === module) {
  runTool("start", async () => {
    const { values } = parseArgs({
      options: { stack: { type: "string" }, file: { type: "string" }, help: { type: "boolean" } },
    });
    if (values.help === true) {
      process.stdout.write(`${USAGE}\n`);
      return;
    }
    const stack = values.stack ?? "dev";
    const steps = values.file === undefined ? walkThrough() : stepsFromFile(values.file);
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
