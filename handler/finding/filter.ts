import { SEVERITY_LABELS, resolutionOf, type Finding, type SeverityLabel } from "./model";

/**
 * What a deployment pages on. The EventBridge rules apply the same choice coarsely (a pattern matches an event
 * when any of its findings matches each condition), so the handler re-checks every finding with this filter.
 */
export interface FindingFilter {
  /** Severity labels that open a page. */
  severityLabels: SeverityLabel[];
  /** Product names to accept; empty accepts every product. */
  products: string[];
  /** Workflow statuses that may open a page; empty accepts any. */
  workflowStatuses: string[];
  /** Only ACTIVE findings open a page. */
  activeOnly: boolean;
}

export const ACCEPT_ALL: FindingFilter = {
  severityLabels: [...SEVERITY_LABELS],
  products: [],
  workflowStatuses: [],
  activeOnly: false,
};

export type Decision =
  | { action: "trigger"; reason: string }
  /** `below`: the finding still fails, at a severity the stack does not page on. */
  | { action: "resolve"; reason: string; passed: boolean; below?: true; workflow?: true }
  | { action: "skip"; reason: string };

export function decide(finding: Finding, filter: FindingFilter): Decision {
  if (filter.products.length > 0) {
    const names = finding.productNames;
    if (!names.some((name) => filter.products.includes(name))) {
      const seen = names.length > 0 ? names.join(", ") : "none";
      return { action: "skip", reason: `product (${seen}) is not one of ${filter.products.join(", ")}` };
    }
  }
  // A resolution is sent whatever the severity: a passed check is re-imported as INFORMATIONAL.
  const resolution = resolutionOf(finding);
  if (resolution !== undefined) return { action: "resolve", ...resolution };

  const { severity, workflow, recordState } = finding;
  // Below the filter a failing finding no longer pages: an alert its earlier severity opened is resolved (the
  // resolve rule admits it). It is not passed, so a responder's hold on it stays.
  if (!filter.severityLabels.includes(severity.label)) {
    return {
      action: "resolve",
      reason: `severity ${severity.label} is not one of ${filter.severityLabels.join(", ")}`,
      passed: false,
      below: true,
    };
  }
  if (filter.activeOnly && recordState !== undefined && recordState !== "ACTIVE") {
    return { action: "skip", reason: `RecordState ${recordState} is not ACTIVE` };
  }
  if (
    filter.workflowStatuses.length > 0 &&
    workflow !== undefined &&
    !filter.workflowStatuses.includes(workflow)
  ) {
    return {
      action: "skip",
      reason: `workflow status ${workflow} is not one of ${filter.workflowStatuses.join(", ")}`,
    };
  }
  return { action: "trigger", reason: `severity ${severity.label} from ${severity.from}` };
}
