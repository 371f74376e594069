import { isObject, numberFrom, textAt, textsAt, valueAt } from "./json";
import {
  DEFAULT_SEVERITY_LABEL,
  isSeverityLabel,
  type Finding,
  type Resource,
  type Severity,
  type SeverityLabel,
} from "./model";
import { UPDATED_BY } from "../sync/notes";
import { CONSOLE_HOSTS } from "./text";
import { tagsByKey } from "./routes";

// The Open Cybersecurity Schema Framework (OCSF) findings of the new Security Hub ("Findings Imported V2" events,
// GetFindingsV2) and of ElectricEye's OCSF output, read into the project's finding: the words of ASFF for
// severity, workflow and compliance, so that the filter, the mapping, the alert state and the sync treat both
// formats alike.

/** An OCSF finding of 1.1 or later: it has finding_info (Security Lake's OCSF 1.0 has finding and state). */
export function looksLikeOcsf(value: unknown): boolean {
  return (
    isObject(value) && (isObject(value.finding_info) || "class_uid" in value || isObject(value.metadata))
  );
}

// OCSF severity_id: 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical, 6 Fatal; 0 Unknown, 99 Other.
const SEVERITY_IDS: Record<number, SeverityLabel> = {
  1: "INFORMATIONAL",
  2: "LOW",
  3: "MEDIUM",
  4: "HIGH",
  5: "CRITICAL",
  6: "CRITICAL",
};
// OCSF status_id: 1 New, 2 In Progress, 3 Suppressed, 4 Resolved; in ASFF's words, as Security Hub maps them.
const STATUS_IDS: Record<number, string> = { 1: "NEW", 2: "NOTIFIED", 3: "SUPPRESSED", 4: "RESOLVED" };
const STATUSES: Record<string, string> = {
  new: "NEW",
  "in progress": "NOTIFIED",
  suppressed: "SUPPRESSED",
  resolved: "RESOLVED",
};
// OCSF compliance status_id: 1 Pass, 2 Warning, 3 Fail.
const COMPLIANCE_IDS: Record<number, string> = { 1: "PASSED", 2: "WARNING", 3: "FAILED" };
const COMPLIANCE: Record<string, string> = { pass: "PASSED", warning: "WARNING", fail: "FAILED" };

export function ocsfSeverity(raw: unknown): Severity {
  const label = textAt(raw, "severity")?.toUpperCase();
  if (label === "FATAL") return { label: "CRITICAL", from: "severity" };
  if (isSeverityLabel(label)) return { label, from: "severity" };
  const id = numberFrom(valueAt(raw, "severity_id"));
  const byId = id === undefined ? undefined : SEVERITY_IDS[id];
  if (byId !== undefined) return { label: byId, from: "severity_id" };
  return { label: DEFAULT_SEVERITY_LABEL, from: "default" };
}

function workflowOf(raw: unknown): string | undefined {
  const status = textAt(raw, "status")?.toLowerCase();
  if (status !== undefined && STATUSES[status] !== undefined) return STATUSES[status];
  const id = numberFrom(valueAt(raw, "status_id"));
  return id === undefined ? undefined : STATUS_IDS[id];
}

function complianceOf(raw: unknown): string | undefined {
  const status = textAt(raw, "compliance", "status");
  if (status !== undefined) return COMPLIANCE[status.toLowerCase()] ?? status.toUpperCase();
  const id = numberFrom(valueAt(raw, "compliance", "status_id"));
  return id === undefined ? undefined : COMPLIANCE_IDS[id];
}

/** OCSF times are epoch milliseconds (the new Security Hub), epoch seconds (ElectricEye) or `*_dt` strings. */
function timeOf(raw: unknown, ...path: string[]): { text: string; ms: number } | undefined {
  const parent = path.slice(0, -1);
  const name = path[path.length - 1] ?? "";
  const dt = textAt(raw, ...parent, `${name}_dt`);
  const fromText = dt === undefined ? Number.NaN : Date.parse(dt);
  if (dt !== undefined && !Number.isNaN(fromText)) return { text: dt, ms: fromText };
  const value = numberFrom(valueAt(raw, ...path));
  if (value === undefined || value <= 0) return undefined;
  // Anything below 10^11 is a time in seconds: as milliseconds it would fall in 1973.
  const ms = value < 1e11 ? value * 1000 : value;
  return { text: new Date(ms).toISOString(), ms };
}

function partitionOf(region: string | undefined): string {
  if (region === undefined) return "aws";
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  if (region.startsWith("us-isob-")) return "aws-iso-b";
  if (region.startsWith("us-iso-")) return "aws-iso";
  return "aws";
}

function resourcesOf(raw: unknown): Resource[] {
  const list = valueAt(raw, "resources");
  // ElectricEye writes one resource, singular.
  const entries = Array.isArray(list)
    ? list.filter(isObject)
    : isObject(valueAt(raw, "resource"))
      ? [valueAt(raw, "resource")]
      : [];
  return entries.map((resource) => {
    const entry: Resource = {
      type: textAt(resource, "type") ?? textAt(resource, "data", "type") ?? "unknown type",
      id: textAt(resource, "uid") ?? textAt(resource, "uid_alt") ?? textAt(resource, "name") ?? "unknown id",
    };
    const region = textAt(resource, "region");
    const partition = textAt(resource, "cloud_partition");
    if (region !== undefined) entry.region = region;
    if (partition !== undefined) entry.partition = partition;
    return entry;
  });
}

/** OCSF resources[].tags: a list of {name, value} (or {name, values}) per resource. */
function resourceTagsOf(raw: unknown): Record<string, string[]> {
  const list = valueAt(raw, "resources");
  const entries = Array.isArray(list) ? list : [valueAt(raw, "resource")];
  const pairs: [string, string][] = [];
  for (const resource of entries) {
    const tags = valueAt(resource, "tags");
    for (const tag of Array.isArray(tags) ? tags : []) {
      const name = textAt(tag, "name");
      if (name === undefined) continue;
      const value = valueAt(tag, "value");
      const values = typeof value === "string" ? [value] : textsAt(tag, "values");
      for (const one of values) pairs.push([name, one]);
    }
  }
  return tagsByKey(pairs);
}

/** The remediation text and first link; Inspector gives one per affected package instead. */
function remediationOf(raw: unknown): { text?: string; url?: string } {
  const text = textAt(raw, "remediation", "desc");
  const url = textsAt(raw, "remediation", "references")[0];
  if (text !== undefined || url !== undefined)
    return { ...(text === undefined ? {} : { text }), ...(url === undefined ? {} : { url }) };
  const vulnerabilities = valueAt(raw, "vulnerabilities");
  const packages = (Array.isArray(vulnerabilities) ? vulnerabilities : []).flatMap((vulnerability) => {
    const affected = valueAt(vulnerability, "affected_packages");
    return Array.isArray(affected) ? affected : [];
  });
  const steps = [
    ...new Set(
      packages
        .map((entry) => textAt(entry, "remediation", "desc"))
        .filter((step): step is string => step !== undefined),
    ),
  ];
  const reference = (Array.isArray(vulnerabilities) ? vulnerabilities : [])
    .flatMap((vulnerability) => textsAt(vulnerability, "references"))
    .find((candidate) => /^https:\/\//.test(candidate));
  return {
    ...(steps.length === 0 ? {} : { text: steps.join("; ") }),
    ...(reference === undefined ? {} : { url: reference }),
  };
}

/** The finding in the new Security Hub console of its own partition and Region; none outside AWS's own partitions. */
function consoleUrlOf(
  uid: string,
  partition: string,
  region: string | undefined,
  provider: string | undefined,
) {
  const host = CONSOLE_HOSTS[partition];
  if (host === undefined || region === undefined || (provider !== undefined && provider !== "AWS"))
    return undefined;
  const search = encodeURIComponent(`finding_info.uid=${uid}`);
  return `https://${host}/securityhub/v2/home?region=${region}#/findings?search=${search}`;
}

/** An OCSF finding as the project's finding, or the reason it cannot be read. */
export function readOcsf(raw: Record<string, unknown>): { finding: Finding } | { reason: string } {
  const id = textAt(raw, "finding_info", "uid");
  if (id === undefined) return { reason: "OCSF finding has no finding_info.uid" };
  const region = textAt(raw, "cloud", "region");
  const resources = resourcesOf(raw);
  const comment = textAt(raw, "comment");
  const stackNoted = comment?.startsWith(`[${UPDATED_BY}]`) === true;
  // A Region of an isolated, China or GovCloud partition says so itself (ElectricEye writes "aws" on resources
  // whatever their partition).
  const fromRegion = partitionOf(region);
  const partition =
    textAt(raw, "cloud", "cloud_partition") ??
    (fromRegion !== "aws" ? fromRegion : resources.find((resource) => resource.partition)?.partition) ??
    "aws";
  // The new Security Hub names products by a productv2 ARN; ElectricEye keeps its ASFF product ARN in product_uid.
  const productUid = textAt(raw, "metadata", "product", "uid");
  const productArn = productUid ?? textAt(raw, "finding_info", "product_uid");
  const account = textAt(raw, "cloud", "account", "uid");
  const remediation = remediationOf(raw);
  const updated = timeOf(raw, "finding_info", "modified_time") ?? timeOf(raw, "time");
  const finding: Finding = {
    format: "ocsf",
    id,
    productNames: [
      ...new Set(
        [
          textAt(raw, "metadata", "product", "name"),
          textAt(raw, "metadata", "product", "vendor_name"),
        ].filter((name): name is string => name !== undefined),
      ),
    ],
    types: textsAt(raw, "finding_info", "types"),
    severity: ocsfSeverity(raw),
    relatedRequirements: [
      ...textsAt(raw, "compliance", "standards"),
      ...textsAt(raw, "compliance", "requirements"),
    ],
    resources,
    resourceTags: resourceTagsOf(raw),
    noted: comment !== undefined && !stackNoted,
    stackNoted,
  };
  const optional: Partial<Finding> = {
    productArn,
    generatorId:
      textAt(raw, "finding_info", "analytic", "uid") ?? textAt(raw, "finding_info", "analytic", "name"),
    account,
    region,
    title: textAt(raw, "finding_info", "title"),
    description: textAt(raw, "finding_info", "desc"),
    compliance: complianceOf(raw),
    securityControlId: textAt(raw, "compliance", "control"),
    workflow: workflowOf(raw),
    remediationText: remediation.text,
    remediationUrl: remediation.url,
    firstObservedAt: timeOf(raw, "finding_info", "first_seen_time")?.text,
    lastObservedAt: timeOf(raw, "finding_info", "last_seen_time")?.text,
    updatedAt: updated?.text,
    updatedAtMs: updated?.ms,
    sourceUrl: textAt(raw, "finding_info", "src_url"),
    consoleUrl: consoleUrlOf(id, partition, region, textAt(raw, "cloud", "provider")),
    // BatchUpdateFindingsV2 names a finding by metadata.product.uid: without one, nothing can be written back.
    ocsf:
      account === undefined || productUid === undefined
        ? undefined
        : {
            accountUid: account,
            productUid,
          },
  };
  for (const [key, value] of Object.entries(optional)) {
    if (value !== undefined) (finding as unknown as Record<string, unknown>)[key] = value;
  }
  return { finding };
}
