import { isObject, numberFrom, parseArn, textAt, textsAt, valueAt } from "./json";
import {
  DEFAULT_SEVERITY_LABEL,
  isSeverityLabel,
  labelForNormalized,
  type Finding,
  type Resource,
  type Severity,
} from "./model";
import { UPDATED_BY } from "../sync/notes";
import { CONSOLE_HOSTS, isoMillis } from "./text";
import { tagsByKey } from "./routes";

// The AWS Security Finding Format (ASFF) of Security Hub CSPM, read into the project's finding.

export function looksLikeAsff(value: unknown): boolean {
  return isObject(value) && ("Id" in value || "SchemaVersion" in value || "ProductArn" in value);
}

function resourcesOf(finding: unknown): Resource[] {
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

/** ASFF Resources[].Tags: a map of key to value per resource. */
function resourceTagsOf(finding: unknown): Record<string, string[]> {
  const list = valueAt(finding, "Resources");
  const pairs: [string, string][] = [];
  for (const resource of Array.isArray(list) ? list : []) {
    const tags = valueAt(resource, "Tags");
    if (!isObject(tags)) continue;
    for (const [key, value] of Object.entries(tags)) if (typeof value === "string") pairs.push([key, value]);
  }
  return tagsByKey(pairs);
}

export function asffSeverity(finding: unknown): Severity {
  const label = valueAt(finding, "Severity", "Label");
  if (isSeverityLabel(label)) return { label, from: "Severity.Label" };
  const normalized = numberFrom(valueAt(finding, "Severity", "Normalized"));
  if (normalized !== undefined && normalized >= 0 && normalized <= 100) {
    return { label: labelForNormalized(normalized), from: "Severity.Normalized" };
  }
  return { label: DEFAULT_SEVERITY_LABEL, from: "default" };
}

/**
 * The product that produced the finding. ElectricEye names itself in ProductFields.ProductName (current
 * releases) or ProductFields."Product Name" (older releases), while Security Hub's own
 * aws/securityhub/ProductName says "Default" for findings imported under the account's default product.
 */
function productNamesOf(finding: unknown): string[] {
  const names = [
    textAt(finding, "ProductFields", "ProductName"),
    textAt(finding, "ProductFields", "Product Name"),
    textAt(finding, "ProductFields", "aws/securityhub/ProductName"),
    textAt(finding, "ProductName"),
  ].filter((name): name is string => name !== undefined);
  return [...new Set(names)];
}

/** The finding in the Security Hub console of its own partition and Region; none for isolated partitions. */
function consoleUrlOf(
  productArn: string | undefined,
  findingId: string,
  resources: Resource[],
  region?: string,
) {
  const arn = parseArn(productArn);
  const host = CONSOLE_HOSTS[arn?.partition ?? resources[0]?.partition ?? "aws"];
  const at = arn?.region || region;
  if (host === undefined || at === undefined) return undefined;
  // The console's search syntax is itself URL-encoded inside the fragment, hence the double encoding.
  const id = encodeURIComponent(encodeURIComponent(findingId));
  return `https://${host}/securityhub/home?region=${at}#/findings?search=Id%3D%255Coperator%255C%253AEQUALS%255C%253A${id}`;
}

/** An ASFF finding as the project's finding; undefined with a reason when it has no Id. */
export function readAsff(raw: Record<string, unknown>): { finding: Finding } | { reason: string } {
  const id = textAt(raw, "Id");
  if (id === undefined) return { reason: "finding has no Id (ASFF requires one)" };
  const productArn = textAt(raw, "ProductArn");
  const productArnParts = parseArn(productArn);
  const resources = resourcesOf(raw);
  // Account and Region come from the finding itself: with cross-Region aggregation the envelope's are wrong.
  const region =
    textAt(raw, "Region") ??
    (productArnParts?.region || undefined) ??
    resources.find((resource) => resource.region !== undefined)?.region;
  const url = textAt(raw, "Remediation", "Recommendation", "Url");
  const hasNote = textAt(raw, "Note", "Text") !== undefined;
  const notedByStack = textAt(raw, "Note", "UpdatedBy") === UPDATED_BY;
  const finding: Finding = {
    format: "asff",
    id,
    productNames: productNamesOf(raw),
    types: textsAt(raw, "Types"),
    severity: asffSeverity(raw),
    relatedRequirements: textsAt(raw, "Compliance", "RelatedRequirements"),
    resources,
    resourceTags: resourceTagsOf(raw),
    noted: hasNote && !notedByStack,
    stackNoted: hasNote && notedByStack,
  };
  const optional: Partial<Finding> = {
    productArn,
    generatorId: textAt(raw, "GeneratorId"),
    account: textAt(raw, "AwsAccountId") ?? (productArnParts?.account || undefined),
    region,
    title: textAt(raw, "Title"),
    description: textAt(raw, "Description"),
    compliance: textAt(raw, "Compliance", "Status"),
    securityControlId: textAt(raw, "Compliance", "SecurityControlId"),
    productControlId: textAt(raw, "ProductFields", "ControlId"),
    // WorkflowState is the deprecated predecessor of Workflow.Status; old findings carry only it.
    workflow: textAt(raw, "Workflow", "Status") ?? textAt(raw, "WorkflowState"),
    recordState: textAt(raw, "RecordState"),
    remediationText: textAt(raw, "Remediation", "Recommendation", "Text"),
    remediationUrl: url,
    firstObservedAt: textAt(raw, "FirstObservedAt"),
    lastObservedAt: textAt(raw, "LastObservedAt"),
    updatedAt: textAt(raw, "UpdatedAt"),
    updatedAtMs: isoMillis(textAt(raw, "UpdatedAt")),
    notedAtMs: hasNote && !notedByStack ? isoMillis(textAt(raw, "Note", "UpdatedAt")) : undefined,
    lastNoteAtMs: hasNote ? isoMillis(textAt(raw, "Note", "UpdatedAt")) : undefined,
    sourceUrl: textAt(raw, "SourceUrl"),
    consoleUrl: consoleUrlOf(productArn, id, resources, region),
  };
  for (const [key, value] of Object.entries(optional)) {
    if (value !== undefined) (finding as unknown as Record<string, unknown>)[key] = value;
  }
  return { finding };
}
