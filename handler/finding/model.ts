// The finding as the rest of the function sees it, whichever format it arrived in (ASFF from Security Hub CSPM,
// OCSF from the new Security Hub): the filter, the mapping to PagerDuty, the alert state and the Security Hub sync
// read only this.

export const SEVERITY_LABELS = ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"] as const;
export type SeverityLabel = (typeof SEVERITY_LABELS)[number];

export function isSeverityLabel(value: unknown): value is SeverityLabel {
  return typeof value === "string" && (SEVERITY_LABELS as readonly string[]).includes(value);
}

/** Findings with no usable severity are treated as HIGH: an unknown severity is not a reason to stay silent. */
export const DEFAULT_SEVERITY_LABEL: SeverityLabel = "HIGH";

export interface Severity {
  label: SeverityLabel;
  /** Which field decided the label, so a reader of the alert knows how much to trust it. */
  from: string;
}

export interface Resource {
  type: string;
  id: string;
  region?: string;
  partition?: string;
}

export interface Finding {
  format: "asff" | "ocsf";
  /** ASFF Id, OCSF finding_info.uid. */
  id: string;
  /** ASFF ProductArn, OCSF metadata.product.uid. */
  productArn?: string;
  /** Every name the product goes by, for the product filter; the first is shown. */
  productNames: string[];
  generatorId?: string;
  account?: string;
  region?: string;
  title?: string;
  description?: string;
  types: string[];
  severity: Severity;
  /** In ASFF's words: PASSED, FAILED, WARNING, NOT_AVAILABLE (or whatever else the product wrote). */
  compliance?: string;
  securityControlId?: string;
  /** ASFF ProductFields.ControlId: Security Hub's control in one standard, before consolidated controls. */
  productControlId?: string;
  relatedRequirements: string[];
  /** In ASFF's words: NEW, NOTIFIED, RESOLVED, SUPPRESSED. */
  workflow?: string;
  /** ACTIVE or ARCHIVED (ASFF only). */
  recordState?: string;
  resources: Resource[];
  /** The tags of the finding's resources, each key with every value it has on any of them (for routes). */
  resourceTags: Record<string, string[]>;
  remediationText?: string;
  remediationUrl?: string;
  /** Times as the finding gives them, for people to read. */
  firstObservedAt?: string;
  lastObservedAt?: string;
  updatedAt?: string;
  /** When the finding was last updated by its product (epoch ms), when that time is valid. */
  updatedAtMs?: number;
  /** When a person last wrote the finding's note (ASFF Note.UpdatedAt, epoch ms), when valid. */
  notedAtMs?: number;
  /** When the finding's note was last written, by anyone (ASFF Note.UpdatedAt, epoch ms), when valid. */
  lastNoteAtMs?: number;
  sourceUrl?: string;
  /** The finding in the Security Hub console of its own partition and Region, where there is one. */
  consoleUrl?: string;
  /**
   * Someone already wrote a note (ASFF Note) or comment (OCSF) on the finding: a sign of triage. The stack's own
   * notes (the page's, a webhook's) are not: a webhook's note landing first must not pass for the page's write-back.
   */
  noted: boolean;
  /** The finding's note or comment is one the stack wrote (a page's, a webhook's). */
  stackNoted: boolean;
  /** What the new Security Hub's write API needs to name an OCSF finding. */
  ocsf?: { accountUid: string; productUid: string };
}

// The documented ranges: 0 INFORMATIONAL, 1–39 LOW, 40–69 MEDIUM, 70–89 HIGH, 90–100 CRITICAL.
export function labelForNormalized(normalized: number): SeverityLabel {
  if (normalized >= 90) return "CRITICAL";
  if (normalized >= 70) return "HIGH";
  if (normalized >= 40) return "MEDIUM";
  if (normalized >= 1) return "LOW";
  return "INFORMATIONAL";
}

export interface Resolution {
  reason: string;
  /**
   * The finding itself is done (passed, archived, suppressed), not only marked RESOLVED in its workflow, which is
   * also what a responder's resolution writes back.
   */
  passed: boolean;
  /** The finding's workflow closes it (SUPPRESSED, RESOLVED), set with BatchUpdateFindings: it keeps UpdatedAt. */
  workflow?: true;
}

/**
 * Why this finding closes its page, or undefined when it does not. NOTIFIED is deliberately absent: it means
 * someone was told, not that the problem is gone.
 */
export function resolutionOf(finding: Finding): Resolution | undefined {
  const { compliance, workflow, recordState } = finding;
  if (compliance === "PASSED") return { reason: "compliance status is PASSED", passed: true };
  if (recordState === "ARCHIVED") return { reason: "RecordState is ARCHIVED", passed: true };
  if (workflow === "SUPPRESSED")
    return { reason: "workflow status is SUPPRESSED", passed: true, workflow: true };
  if (workflow === "RESOLVED")
    return { reason: "workflow status is RESOLVED", passed: false, workflow: true };
  return undefined;
}
