import { parseArgs } from "util";
import { SEVERITY_LABELS, isSeverityLabel, type SeverityLabel } from "../handler/finding/model";
import { ACCEPT_ALL, type FindingFilter } from "../handler/finding/filter";
import type { PagerDutyRequest } from "../handler/finding/pagerdutyEvent";
import { routeFinding } from "../handler/finding/route";
import { UsageError, findingsIn, readJsonInput, runTool } from "./cli";
import { ALERT_PER_FINDING, alertKeyOf, groupOf, type Grouping } from "../handler/finding/control";

export interface Rendering {
  events: PagerDutyRequest[];
  /** The alert each event's finding belongs to: its group's (control, account...) or its own. */
  alerts: {
    findingId: string;
    alertKey: string;
    group?: { control: string; from: string; account?: string };
  }[];
  skipped: { findingId: string | null; origin: string; reason: string }[];
}

export const REDACTED_ROUTING_KEY = "<redacted>";

// The attributes BatchImportFindings requires of an ASFF finding: one without them never reached Security Hub, so
// the file is likely hand-made or cut, and its page shows stand-ins ("Untitled finding") where they are missing.
const ASFF_REQUIRED = [
  "AwsAccountId",
  "CreatedAt",
  "Description",
  "GeneratorId",
  "Id",
  "ProductArn",
  "Resources",
  "SchemaVersion",
  "Severity",
  "Title",
  "Types",
  "UpdatedAt",
];

/** The required ASFF attributes an ASFF finding lacks; none for OCSF findings, which have their own schema. */
export function missingAsffFields(raw: unknown): string[] {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return [];
  const finding = raw as Record<string, unknown>;
  if ("finding_info" in finding || "class_uid" in finding) return [];
  return ASFF_REQUIRED.filter((field) => finding[field] === undefined || finding[field] === null);
}

/** What render says beside its output: findings that could not have come from Security Hub, or none at all. */
export function renderNotes(document: unknown, source: string): string[] {
  const reading = findingsIn(document, source);
  if (reading.findings.length === 0 && reading.skipped.length === 0) return [`${source} holds no findings`];
  return reading.findings.flatMap(({ finding, origin }) => {
    const missing = missingAsffFields(finding);
    return missing.length === 0
      ? []
      : [`${origin} lacks what ASFF requires: ${missing.join(", ")} (its page shows stand-ins for them)`];
  });
}

/** The Events API v2 bodies the handler would send for a document, with the routing key redacted. */
export function render(
  document: unknown,
  filter: FindingFilter,
  source = "input",
  grouping: Grouping = ALERT_PER_FINDING,
): Rendering {
  const reading = findingsIn(document, source);
  const rendering: Rendering = {
    events: [],
    alerts: [],
    skipped: reading.skipped.map(({ origin, reason }) => ({ findingId: null, origin, reason })),
  };
  for (const { finding, origin } of reading.findings) {
    const routed = routeFinding(finding, filter);
    if (routed.kind === "send") {
      rendering.events.push({ routing_key: REDACTED_ROUTING_KEY, ...routed.mapped.event });
      const group = groupOf(routed.finding, grouping);
      rendering.alerts.push({
        findingId: routed.finding.id,
        alertKey: alertKeyOf(routed.finding, grouping),
        ...(group === undefined
          ? {}
          : {
              group: {
                control: group.control.id,
                from: group.control.from,
                ...(group.account === undefined ? {} : { account: group.account }),
              },
            }),
      });
    } else rendering.skipped.push({ findingId: routed.findingId ?? null, origin, reason: routed.reason });
  }
  return rendering;
}

export function filterFromOptions(
  severities: string | undefined,
  products: string[] | undefined,
): FindingFilter {
  const labels =
    severities === undefined
      ? [...SEVERITY_LABELS]
      : severities.split(",").map((label) => label.trim().toUpperCase());
  const bad = labels.find((label) => !isSeverityLabel(label));
  if (bad !== undefined) {
    throw new UsageError(`--severity "${bad}" is not a severity label: use ${SEVERITY_LABELS.join(", ")}`);
  }
  return { ...ACCEPT_ALL, severityLabels: labels as SeverityLabel[], products: products ?? [] };
}

const USAGE = `usage: npm run render -- FILE [--severity CRITICAL,HIGH] [--product NAME]...
  FILE  an EventBridge event, a list of events, a finding, a list of findings, or a {"Findings": [...]}
        batch (get-findings or get-findings-v2 output); findings in ASFF or OCSF; "-" reads standard input
  --severity  only these labels page (default: every label)
  --product   only findings of this product (repeatable; default: every product)
  --alert-per finding (default) or control: with control, "alerts" names the group (control, account) each
              finding's event belongs to`;

if (require.main === module) {
  runTool("render", () => {
    const { values, positionals } = parseArgs({
      options: {
        severity: { type: "string" },
        product: { type: "string", multiple: true },
        "alert-per": { type: "string" },
        help: { type: "boolean" },
      },
      allowPositionals: true,
    });
    if (values.help === true) {
      process.stdout.write(`${USAGE}\n`);
      return;
    }
    const [file] = positionals;
    if (file === undefined || positionals.length > 1) throw new UsageError(`expected one FILE\n${USAGE}`);
    const filter = filterFromOptions(values.severity, values.product);
    const per = values["alert-per"] ?? "finding";
    if (per !== "finding" && per !== "control")
      throw new UsageError(`--alert-per "${per}" is not finding or control`);
    const grouping: Grouping =
      per === "control" ? { per, fields: ["account"], criticalAlone: true } : ALERT_PER_FINDING;
    const source = file === "-" ? "standard input" : file;
    const document = readJsonInput(file);
    const rendering = render(document, filter, source, grouping);
    for (const note of renderNotes(document, source))
      process.stderr.write(`render: ${note}
`);
    process.stdout.write(`${JSON.stringify(rendering, null, 2)}\n`);
  });
}
