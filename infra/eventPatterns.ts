import type { CustomAction, StackConfig } from "../config";
import type { SeverityLabel } from "../handler/finding/model";
import type { FindingFilter } from "../handler/finding/filter";
import { CUSTOM_ACTION, IMPORTED, IMPORTED_V2 } from "../handler/finding/events";

// Pure: the EventBridge rules a configuration asks for. A pattern value is a list of allowed values; against an
// array in the event it matches when any element matches, so the rules are a coarse filter and the function
// re-checks each finding with the same FindingFilter.

/** The queues findings travel in. Lanes share the routing key's send schedule, so a short lane is never stuck behind a long one. */
export type Lane = "critical" | "resolve" | "standard";

export interface RulePlan {
  /** Logical name, part of the resource name. */
  name: string;
  description: string;
  pattern: Record<string, unknown>;
  lane: Lane;
}

/** What the Security Hub custom action a person chooses to page on-call for the findings they selected says. */
export const PAGE_ON_CALL_DESCRIPTION = "Page on-call through PagerDuty";

/**
 * ElectricEye names itself in ProductFields.ProductName (current releases) or ProductFields."Product Name"
 * (older releases); Security Hub's own name for a product is in ProductFields."aws/securityhub/ProductName".
 * The alternatives sit in an $or inside ProductFields so that the findings level stays free for the
 * lifecycle $or of the resolve rule (an object cannot hold two "$or" keys).
 */
function productCondition(products: string[]): Record<string, unknown> {
  if (products.length === 0) return {};
  return {
    ProductFields: {
      $or: [
        { ProductName: products },
        { "Product Name": products },
        { "aws/securityhub/ProductName": products },
      ],
    },
  };
}

/** Security Hub's Imported events whose findings meet `conditions`. */
function importedFindings(conditions: Record<string, unknown>): Record<string, unknown> {
  return { source: ["aws.securityhub"], "detail-type": [IMPORTED], detail: { findings: conditions } };
}

export function findingsPattern(filter: FindingFilter, labels: SeverityLabel[]): Record<string, unknown> {
  return importedFindings({
    ...productCondition(filter.products),
    Severity: { Label: labels },
    ...(filter.activeOnly ? { RecordState: ["ACTIVE"] } : {}),
    ...(filter.workflowStatuses.length > 0 ? { Workflow: { Status: filter.workflowStatuses } } : {}),
  });
}

/**
 * Any severity: ElectricEye re-imports a passed check as INFORMATIONAL, which the findings rule never admits. A
 * finding whose severity is now below the paged labels closes its alert too, though it still fails.
 */
export function resolvePattern(filter: FindingFilter): Record<string, unknown> {
  return importedFindings({
    ...productCondition(filter.products),
    $or: [
      { Compliance: { Status: ["PASSED"] } },
      { Workflow: { Status: ["RESOLVED", "SUPPRESSED"] } },
      { RecordState: ["ARCHIVED"] },
      { Severity: { Label: [{ "anything-but": filter.severityLabels }] } },
    ],
  });
}

/** The custom action's events: this stack's "Page on-call" action, whatever the findings. */
export function pageOnDemandPattern(action: CustomAction): Record<string, unknown> {
  return {
    source: ["aws.securityhub"],
    "detail-type": [CUSTOM_ACTION],
    resources: [{ suffix: `:action/custom/${action.identifier}` }],
  };
}

/** The feeds a stack pages from: Security Hub CSPM's ASFF, the new Security Hub's OCSF, or both. */
export const FINDING_FORMATS = ["asff", "ocsf", "both"] as const;
export type FindingFormats = (typeof FINDING_FORMATS)[number];

// OCSF's words for the labels and workflow statuses the filter names in ASFF's.
const OCSF_SEVERITY: Record<SeverityLabel, { names: string[]; ids: number[] }> = {
  INFORMATIONAL: { names: ["Informational"], ids: [1] },
  LOW: { names: ["Low"], ids: [2] },
  MEDIUM: { names: ["Medium"], ids: [3] },
  HIGH: { names: ["High"], ids: [4] },
  CRITICAL: { names: ["Critical", "Fatal"], ids: [5, 6] },
};
const OCSF_STATUS: Record<string, string> = {
  NEW: "New",
  NOTIFIED: "In Progress",
  RESOLVED: "Resolved",
  SUPPRESSED: "Suppressed",
};

/** The new Security Hub's events whose OCSF finding meets `conditions`. */
function importedV2(conditions: Record<string, unknown>): Record<string, unknown> {
  return { source: ["aws.securityhub"], "detail-type": [IMPORTED_V2], detail: { findings: conditions } };
}

function ocsfProductCondition(products: string[]): Record<string, unknown> {
  return products.length === 0 ? {} : { metadata: { product: { name: products } } };
}

/** The label decides, else severity_id: either matching admits the event, and the function re-checks it. */
export function ocsfFindingsPattern(filter: FindingFilter, labels: SeverityLabel[]): Record<string, unknown> {
  return importedV2({
    ...ocsfProductCondition(filter.products),
    $or: [
      { severity: labels.flatMap((label) => OCSF_SEVERITY[label].names) },
      { severity_id: labels.flatMap((label) => OCSF_SEVERITY[label].ids) },
    ],
    ...(filter.workflowStatuses.length > 0
      ? { status: filter.workflowStatuses.map((status) => OCSF_STATUS[status] ?? status) }
      : {}),
  });
}

export function ocsfResolvePattern(filter: FindingFilter): Record<string, unknown> {
  const labels = filter.severityLabels;
  return importedV2({
    ...ocsfProductCondition(filter.products),
    $or: [
      { status: ["Resolved", "Suppressed"] },
      { status_id: [3, 4] },
      { compliance: { status: ["Pass"] } },
      { compliance: { status_id: [1] } },
      // Below the paged labels: the label, else (as the function reads it) severity_id.
      { severity: [{ "anything-but": labels.flatMap((label) => OCSF_SEVERITY[label].names) }] },
      {
        severity: [{ exists: false }],
        severity_id: [{ "anything-but": labels.flatMap((label) => OCSF_SEVERITY[label].ids) }],
      },
    ],
  });
}

interface FormatRules {
  suffix: string;
  feed: string;
  findings(filter: FindingFilter, labels: SeverityLabel[]): Record<string, unknown>;
  resolve(filter: FindingFilter): Record<string, unknown>;
}

const FORMAT_RULES: Record<"asff" | "ocsf", FormatRules> = {
  asff: { suffix: "", feed: "Security Hub", findings: findingsPattern, resolve: resolvePattern },
  ocsf: {
    suffix: "-v2",
    feed: "Security Hub (OCSF)",
    findings: ocsfFindingsPattern,
    resolve: ocsfResolvePattern,
  },
};

export function planRules(
  filter: FindingFilter,
  options: {
    resolveRule: boolean;
    priorityLanes: boolean;
    pageOnDemand?: CustomAction | undefined;
    formats?: FindingFormats;
  },
): RulePlan[] {
  const labels = filter.severityLabels;
  const urgent: SeverityLabel[] = options.priorityLanes ? labels.filter((label) => label === "CRITICAL") : [];
  const rest = labels.filter((label) => !urgent.includes(label));
  const formats = options.formats ?? "asff";
  const rulesOf = (format: FormatRules): RulePlan[] => [
    ...(urgent.length === 0
      ? []
      : [
          {
            name: `critical-findings${format.suffix}`,
            description: `CRITICAL ${format.feed} findings that page, in their own lane`,
            pattern: format.findings(filter, urgent),
            lane: "critical" as const,
          },
        ]),
    ...(rest.length === 0
      ? []
      : [
          {
            name: `findings${format.suffix}`,
            description: `${rest.join(" and ")} ${format.feed} findings that page`,
            pattern: format.findings(filter, rest),
            lane: "standard" as const,
          },
        ]),
  ];
  const resolveOf = (format: FormatRules): RulePlan[] =>
    options.resolveRule
      ? [
          {
            name: `resolutions${format.suffix}`,
            description: `${format.feed} finding updates that close a page (passed, resolved, suppressed, archived)`,
            pattern: format.resolve(filter),
            lane: options.priorityLanes ? "resolve" : "standard",
          },
        ]
      : [];
  const rules: RulePlan[] = [];
  if (formats !== "ocsf") rules.push(...rulesOf(FORMAT_RULES.asff));
  if (options.pageOnDemand !== undefined) {
    rules.push({
      name: "page-on-demand",
      description: `Findings a person selects with the Security Hub custom action "${options.pageOnDemand.name}"`,
      pattern: pageOnDemandPattern(options.pageOnDemand),
      lane: options.priorityLanes ? "critical" : "standard",
    });
  }
  if (formats !== "ocsf") rules.push(...resolveOf(FORMAT_RULES.asff));
  if (formats !== "asff") rules.push(...rulesOf(FORMAT_RULES.ocsf), ...resolveOf(FORMAT_RULES.ocsf));
  return rules;
}

/** The rules a stack's configuration asks for. */
export function stackRules(
  config: Pick<StackConfig, "filter" | "resolveRule" | "priorityLanes" | "sync" | "findingFormats">,
): RulePlan[] {
  return planRules(config.filter, {
    resolveRule: config.resolveRule,
    priorityLanes: config.priorityLanes,
    pageOnDemand: config.sync.enabled ? config.sync.customAction : undefined,
    formats: config.findingFormats,
  });
}

export function lanesOf(rules: RulePlan[]): Lane[] {
  const order: Lane[] = ["critical", "resolve", "standard"];
  return order.filter((lane) => rules.some((rule) => rule.lane === lane));
}
