// Tolerant readers for AWS Security Finding Format (ASFF) fields. Real findings are messy (missing objects,
// values outside the documented enums, numbers as strings), so every reader accepts `unknown` and returns a
// typed value or undefined instead of trusting the shape.

export type JsonObject = Record<string, unknown>;

export const SEVERITY_LABELS = ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"] as const;
export type SeverityLabel = (typeof SEVERITY_LABELS)[number];

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function isSeverityLabel(value: unknown): value is SeverityLabel {
  return typeof value === "string" && (SEVERITY_LABELS as readonly string[]).includes(value);
}

/** A non-blank string at `path`, trimmed; anything else is undefined. */
export function textAt(value: unknown, ...path: string[]): string | undefined {
  const found = valueAt(value, ...path);
  if (typeof found !== "string") return undefined;
  const trimmed = found.trim();
  return trimmed === "" ? undefined : trimmed;
}

export function valueAt(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (!isObject(current)) return undefined;
    current = current[key];
  }
  return current;
}

/** The non-blank strings of an array at `path`; a missing or non-array value is an empty list. */
export function textsAt(value: unknown, ...path: string[]): string[] {
  const found = valueAt(value, ...path);
  if (!Array.isArray(found)) return [];
  return found.filter((item): item is string => typeof item === "string" && item.trim() !== "");
}

export interface Resource {
  type: string;
  id: string;
  region?: string;
  partition?: string;
}

export function resourcesOf(finding: unknown): Resource[] {
  const list = valueAt(finding, "Resources");
  if (!Array.isArray(list)) return [];
  return list.filter(isObject).map((resource) => {
    const entry: Resource = {
      type: textAt(resource, "Type") ?? "unknown type",
      id: textAt(resource, "Id") ?? "unknown id",
    };
    const region = textAt(resource, "Region");
    const partition = textAt(resource, "Partition");
    if (region !== undefined) entry.region = region;
    if (partition !== undefined) entry.partition = partition;
    return entry;
  });
}

export interface Severity {
  label: SeverityLabel;
  /** Which field decided the label, so a reader of the alert knows how much to trust it. */
  from: "Severity.Label" | "Severity.Normalized" | "default";
}

/** Findings with no usable severity are treated as HIGH: an unknown severity is not a reason to stay silent. */
export const DEFAULT_SEVERITY_LABEL: SeverityLabel = "HIGH";

export function severityOf(finding: unknown): Severity {
  const label = valueAt(finding, "Severity", "Label");
  if (isSeverityLabel(label)) return { label, from: "Severity.Label" };
  const normalized = numberFrom(valueAt(finding, "Severity", "Normalized"));
  if (normalized !== undefined && normalized >= 0 && normalized <= 100) {
    return { label: labelForNormalized(normalized), from: "Severity.Normalized" };
  }
  return { label: DEFAULT_SEVERITY_LABEL, from: "default" };
}

// The documented ranges: 0 INFORMATIONAL, 1–39 LOW, 40–69 MEDIUM, 70–89 HIGH, 90–100 CRITICAL.
export function labelForNormalized(normalized: number): SeverityLabel {
  if (normalized >= 90) return "CRITICAL";
  if (normalized >= 70) return "HIGH";
  if (normalized >= 40) return "MEDIUM";
  if (normalized >= 1) return "LOW";
  return "INFORMATIONAL";
}

function numberFrom(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value === "string" && /^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return undefined;
}

export interface Lifecycle {
  compliance?: string;
  workflow?: string;
  recordState?: string;
}

export function lifecycleOf(finding: unknown): Lifecycle {
  const lifecycle: Lifecycle = {};
  const compliance = textAt(finding, "Compliance", "Status");
  // WorkflowState is the deprecated predecessor of Workflow.Status; old findings carry only it.
  const workflow = textAt(finding, "Workflow", "Status") ?? textAt(finding, "WorkflowState");
  const recordState = textAt(finding, "RecordState");
  if (compliance !== undefined) lifecycle.compliance = compliance;
  if (workflow !== undefined) lifecycle.workflow = workflow;
  if (recordState !== undefined) lifecycle.recordState = recordState;
  return lifecycle;
}

export interface Resolution {
  reason: string;
  /**
   * The finding itself is done (passed, archived, suppressed), not only marked RESOLVED in its workflow, which is
   * also what a responder's resolution writes back.
   */
  passed: boolean;
}

/**
 * Why this finding closes its page, or undefined when it does not. NOTIFIED is deliberately absent: it means
 * someone was told, not that the problem is gone.
 */
export function resolutionOf(finding: unknown): Resolution | undefined {
  const { compliance, workflow, recordState } = lifecycleOf(finding);
  if (compliance === "PASSED") return { reason: "Compliance.Status is PASSED", passed: true };
  if (recordState === "ARCHIVED") return { reason: "RecordState is ARCHIVED", passed: true };
  if (workflow === "SUPPRESSED") return { reason: "Workflow.Status is SUPPRESSED", passed: true };
  if (workflow === "RESOLVED") return { reason: "Workflow.Status is RESOLVED", passed: false };
  return undefined;
}

/**
 * The product that produced the finding. ElectricEye names itself in ProductFields.ProductName (current
 * releases) or ProductFields."Product Name" (older releases), while Security Hub's own
 * aws/securityhub/ProductName says "Default" for findings imported under the account's default product.
 */
export function productNamesOf(finding: unknown): string[] {
  const names = [
    textAt(finding, "ProductFields", "ProductName"),
    textAt(finding, "ProductFields", "Product Name"),
    textAt(finding, "ProductFields", "aws/securityhub/ProductName"),
    textAt(finding, "ProductName"),
  ].filter((name): name is string => name !== undefined);
  return [...new Set(names)];
}

export interface ArnParts {
  partition: string;
  service: string;
  region: string;
  account: string;
}

export function parseArn(arn: string | undefined): ArnParts | undefined {
  const match = arn === undefined ? null : /^arn:([^:]+):([^:]+):([^:]*):([^:]*):/.exec(arn);
  if (match === null) return undefined;
  return {
    partition: match[1] ?? "",
    service: match[2] ?? "",
    region: match[3] ?? "",
    account: match[4] ?? "",
  };
}

/** Account and Region come from the finding itself: with cross-Region aggregation the envelope's are wrong. */
export function accountOf(finding: unknown): string | undefined {
  return textAt(finding, "AwsAccountId") ?? (parseArn(textAt(finding, "ProductArn"))?.account || undefined);
}

export function regionOf(finding: unknown): string | undefined {
  return (
    textAt(finding, "Region") ??
    (parseArn(textAt(finding, "ProductArn"))?.region || undefined) ??
    resourcesOf(finding).find((resource) => resource.region !== undefined)?.region
  );
}
