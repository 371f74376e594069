import type { StackConfig } from "../config";
import type { SeverityLabel } from "../handler/finding/model";
import type { FindingFilter } from "../handler/finding/filter";
import { CUSTOM_ACTION, IMPORTED } from "../handler/finding/events";

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

/** The Security Hub custom action a person chooses to page on-call for the findings they selected. */
export const PAGE_ON_CALL = {
  identifier: "PageOnCall",
  name: "Page on-call",
  description: "Page on-call through PagerDuty",
} as const;

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

/** Any severity: ElectricEye re-imports a passed check as INFORMATIONAL, which the findings rule never admits. */
export function resolvePattern(filter: FindingFilter): Record<string, unknown> {
  return importedFindings({
    ...productCondition(filter.products),
    $or: [
      { Compliance: { Status: ["PASSED"] } },
      { Workflow: { Status: ["RESOLVED", "SUPPRESSED"] } },
      { RecordState: ["ARCHIVED"] },
    ],
  });
}

/** The custom action's events: this account's "Page on-call" action, whatever the findings. */
export function pageOnDemandPattern(): Record<string, unknown> {
  return {
    source: ["aws.securityhub"],
    "detail-type": [CUSTOM_ACTION],
    resources: [{ suffix: `:action/custom/${PAGE_ON_CALL.identifier}` }],
  };
}

export function planRules(
  filter: FindingFilter,
  options: { resolveRule: boolean; priorityLanes: boolean; pageOnDemand?: boolean },
): RulePlan[] {
  const labels = filter.severityLabels;
  const urgent: SeverityLabel[] = options.priorityLanes ? labels.filter((label) => label === "CRITICAL") : [];
  const rest = labels.filter((label) => !urgent.includes(label));
  const rules: RulePlan[] = [];
  if (urgent.length > 0) {
    rules.push({
      name: "critical-findings",
      description: "CRITICAL Security Hub findings that page, in their own lane",
      pattern: findingsPattern(filter, urgent),
      lane: "critical",
    });
  }
  if (rest.length > 0) {
    rules.push({
      name: "findings",
      description: `${rest.join(" and ")} Security Hub findings that page`,
      pattern: findingsPattern(filter, rest),
      lane: "standard",
    });
  }
  if (options.pageOnDemand === true) {
    rules.push({
      name: "page-on-demand",
      description: `Findings a person selects with the Security Hub custom action "${PAGE_ON_CALL.name}"`,
      pattern: pageOnDemandPattern(),
      lane: options.priorityLanes ? "critical" : "standard",
    });
  }
  if (options.resolveRule) {
    rules.push({
      name: "resolutions",
      description: "Security Hub finding updates that close a page (passed, resolved, suppressed, archived)",
      pattern: resolvePattern(filter),
      lane: options.priorityLanes ? "resolve" : "standard",
    });
  }
  return rules;
}

/** The rules a stack's configuration asks for. */
export function stackRules(
  config: Pick<StackConfig, "filter" | "resolveRule" | "priorityLanes" | "sync">,
): RulePlan[] {
  return planRules(config.filter, {
    resolveRule: config.resolveRule,
    priorityLanes: config.priorityLanes,
    pageOnDemand: config.sync.enabled,
  });
}

export function lanesOf(rules: RulePlan[]): Lane[] {
  const order: Lane[] = ["critical", "resolve", "standard"];
  return order.filter((lane) => rules.some((rule) => rule.lane === lane));
}
