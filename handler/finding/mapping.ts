import { hash } from "crypto";
import { isObject, type JsonObject } from "./json";
import type { Finding, SeverityLabel } from "./model";
import type { PagerDutyEvent, PagerDutySeverity } from "./pagerdutyEvent";
import { CUT_MARKER, cut, prefixLength } from "./text";

// Limits of the PagerDuty Events API v2: a longer summary or a larger event is rejected, not truncated.
export const SUMMARY_MAX_CHARS = 1024;
// PagerDuty says "512 KB" without saying which: the smaller reading (512,000 bytes) holds under either.
export const EVENT_MAX_BYTES = 512_000;
// Room left in the event budget for the routing key and the JSON around it, added after mapping.
const ROUTING_KEY_ALLOWANCE_BYTES = 128;
// PagerDuty documents no limit for these; a resource ARN can be long, and a page header should stay readable.
const SHORT_FIELD_MAX_CHARS = 255;
// Longer "URLs" are kept in the details as text, not offered as a link.
const URL_MAX_CHARS = 2048;

const PAGERDUTY_SEVERITY: Record<SeverityLabel, PagerDutySeverity> = {
  CRITICAL: "critical",
  HIGH: "error",
  MEDIUM: "warning",
  LOW: "warning",
  INFORMATIONAL: "info",
};

export interface MappedFinding {
  findingId: string;
  productArn?: string;
  dedupKey: string;
  severityLabel: SeverityLabel;
  /** What the page shows, hashed: a re-import with the same fingerprint changes nothing for the responder. */
  fingerprint: string;
  /** The finding's last update by its product, in epoch milliseconds, when it is a valid time. */
  updatedAt?: number;
  event: PagerDutyEvent;
}

/**
 * The product ARN that names a product in both feeds: the new Security Hub names AWS products
 * arn:…::productv2/aws/NAME where Security Hub CSPM says arn:…::product/aws/NAME, for the same finding.
 */
export function canonicalProductArn(productArn: string | undefined): string | undefined {
  return productArn?.replace(/^(arn:[^:]+:securityhub:[^:]*:[^:]*:)productv2\//, "$1product/");
}

/**
 * The dedup key of a finding. Security Hub identifies a finding by its product and Id; ids can exceed the
 * 255 characters PagerDuty allows, so the pair is hashed. The trigger and the later resolve of a finding carry
 * the same pair and therefore the same key, and so do the ASFF and OCSF copies of one finding.
 */
export function dedupKeyOf(productArn: string | undefined, findingId: string): string {
  // The one-shot hash: a fraction of createHash's cost, paid twice for every record.
  return `securityhub-${hash("sha256", `${canonicalProductArn(productArn) ?? ""}\n${findingId}`, "hex")}`;
}

/**
 * A hash of what the page shows: severity, title, resources and compliance status. Timestamps, notes and the
 * workflow are left out: they change on every import or by this project's own write-back.
 */
export function fingerprintOf(finding: Finding): string {
  const resources = finding.resources.map((resource) => `${resource.type} ${resource.id}`).sort();
  const shown = [finding.severity.label, finding.title ?? "", resources, finding.compliance ?? ""];
  return hash("sha256", JSON.stringify(shown), "hex").slice(0, 16);
}

export interface MapOptions {
  /** Paged by a person through the Security Hub custom action: it pages with high urgency whatever its severity. */
  byHand?: string;
}

/** One finding becomes one PagerDuty event, whatever its number of resources. */
export function mapFinding(
  finding: Finding,
  action: "trigger" | "resolve",
  options: MapOptions = {},
): MappedFinding {
  const dedupKey = dedupKeyOf(finding.productArn, finding.id);
  const identity: Omit<MappedFinding, "event"> = {
    findingId: finding.id,
    ...(finding.productArn === undefined ? {} : { productArn: finding.productArn }),
    dedupKey,
    severityLabel: finding.severity.label,
    fingerprint: fingerprintOf(finding),
    ...(finding.updatedAtMs === undefined ? {} : { updatedAt: finding.updatedAtMs }),
  };
  if (action === "resolve") return { ...identity, event: { event_action: "resolve", dedup_key: dedupKey } };

  const { resources, account, consoleUrl, remediationUrl } = finding;
  const links: { href: string; text: string }[] = [];
  if (
    remediationUrl !== undefined &&
    remediationUrl.length <= URL_MAX_CHARS &&
    /^https?:\/\/\S+$/.test(remediationUrl)
  )
    links.push({ href: remediationUrl, text: "Remediation" });
  if (consoleUrl !== undefined) links.push({ href: consoleUrl, text: "Finding in the Security Hub console" });

  const severity = PAGERDUTY_SEVERITY[finding.severity.label];
  const event: PagerDutyEvent = {
    event_action: "trigger",
    dedup_key: dedupKey,
    payload: {
      summary: summaryOf(finding, options.byHand !== undefined),
      source: cut(resources[0]?.id ?? account ?? finding.id, SHORT_FIELD_MAX_CHARS),
      // A person asked for a page: at least high urgency (error), whatever the finding's own severity.
      severity:
        options.byHand !== undefined && (severity === "warning" || severity === "info") ? "error" : severity,
      component: cut(resources[0]?.type ?? "unknown resource type", SHORT_FIELD_MAX_CHARS),
      group: cut(account ?? "unknown account", SHORT_FIELD_MAX_CHARS),
      class: cut(finding.types[0] ?? finding.generatorId ?? "finding", SHORT_FIELD_MAX_CHARS),
      custom_details: detailsOf(finding, options),
    },
  };
  if (finding.updatedAtMs !== undefined && event.payload !== undefined)
    event.payload.timestamp = new Date(finding.updatedAtMs).toISOString();
  if (links.length > 0) event.links = links;
  if (consoleUrl !== undefined) {
    event.client = "AWS Security Hub";
    event.client_url = consoleUrl;
  }
  return { ...identity, event: fitEvent(event, EVENT_MAX_BYTES) };
}

function summaryOf(finding: Finding, byHand: boolean): string {
  const { resources, account, region } = finding;
  const first = resources[0];
  const more = resources.length > 1 ? ` and ${resources.length - 1} more` : "";
  const where = first === undefined ? "" : ` on ${cut(`${first.type} ${first.id}`, 300)}${more}`;
  const tail = `${where} (account ${account ?? "unknown"}, ${region ?? "unknown region"})`;
  const head = `${byHand ? "[paged by hand] " : ""}${finding.severity.label}: `;
  const room = SUMMARY_MAX_CHARS - head.length - tail.length;
  return cut(`${head}${cut(finding.title ?? "Untitled finding", room)}${tail}`, SUMMARY_MAX_CHARS);
}

function detailsOf(finding: Finding, options: MapOptions): JsonObject {
  const details: JsonObject = {
    finding_id: finding.id,
    format: finding.format === "ocsf" ? "OCSF" : "ASFF",
    paged_by: options.byHand,
    product: finding.productNames[0] ?? finding.productArn ?? "unknown",
    product_arn: finding.productArn,
    generator_id: finding.generatorId,
    account: finding.account ?? "unknown",
    region: finding.region ?? "unknown",
    title: finding.title,
    description: finding.description,
    remediation: finding.remediationText,
    remediation_url: finding.remediationUrl,
    severity: finding.severity.label,
    severity_from: finding.severity.from,
    compliance_status: finding.compliance,
    security_control_id: finding.securityControlId,
    related_requirements: finding.relatedRequirements,
    workflow_status: finding.workflow,
    record_state: finding.recordState,
    types: finding.types,
    first_observed_at: finding.firstObservedAt,
    last_observed_at: finding.lastObservedAt,
    updated_at: finding.updatedAt,
    source_url: finding.sourceUrl,
    resources: finding.resources.map((resource) => ({ ...resource })),
  };
  // Absent fields are left out rather than sent as nulls that clutter the alert.
  return Object.fromEntries(
    Object.entries(details).filter(
      ([, value]) => value !== undefined && !(Array.isArray(value) && value.length === 0),
    ),
  );
}

function byteSize(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), "utf8");
}

interface Candidate {
  holder: JsonObject | unknown[];
  key: string | number;
  path: string;
  size: number;
}

/**
 * Keeps an event under PagerDuty's size limit by cutting its largest custom details (strings shortened,
 * lists shortened) with a visible marker, and lists each cut field under `truncated`.
 */
export function fitEvent(event: PagerDutyEvent, maxBytes: number): PagerDutyEvent {
  const budget = maxBytes - ROUTING_KEY_ALLOWANCE_BYTES;
  if (byteSize(event) <= budget || event.payload?.custom_details === undefined) return event;
  const details = structuredClone(event.payload.custom_details);
  const fitted: PagerDutyEvent = { ...event, payload: { ...event.payload, custom_details: details } };
  const cuts = new Map<string, { original: number; kept: number }>();
  details.truncated = [];
  // A pass cuts the largest field by the excess but by at most half, so that one huge field does not wipe
  // out another that merely came first; the cap stops the loop when what is over lies outside the details.
  for (let pass = 0, excess = byteSize(fitted) - budget; excess > 0 && pass < 64; pass += 1) {
    const largest = largestField(details, "");
    if (largest === undefined) break;
    const holder = largest.holder as Record<string | number, unknown>;
    const value = holder[largest.key];
    const previous = cuts.get(largest.path);
    if (typeof value === "string") {
      const text = previous === undefined ? value : value.slice(0, previous.kept);
      const original = previous?.original ?? value.length;
      const keep = prefixLength(text, Math.max(text.length - excess - 64, Math.floor(text.length / 2)));
      holder[largest.key] =
        `${text.slice(0, keep)}${CUT_MARKER}[cut ${original - keep} of ${original} characters]`;
      cuts.set(largest.path, { original, kept: keep });
    } else if (Array.isArray(value)) {
      const entries = previous === undefined ? value : value.slice(0, previous.kept);
      const original = previous?.original ?? value.length;
      const keep = Math.max(
        shortestPrefixWithin(entries, largest.size - excess - 64),
        Math.floor(entries.length / 2),
      );
      holder[largest.key] = [...entries.slice(0, keep), `[cut ${original - keep} of ${original} entries]`];
      cuts.set(largest.path, { original, kept: keep });
    }
    details.truncated = [...cuts.keys()];
    excess = byteSize(fitted) - budget;
  }
  return fitted;
}

function largestField(value: unknown, path: string): Candidate | undefined {
  let best: Candidate | undefined;
  const entries: [string | number, unknown][] = Array.isArray(value)
    ? value.map((child, index) => [index, child])
    : isObject(value)
      ? Object.entries(value).filter(([key]) => key !== "truncated")
      : [];
  for (const [key, child] of entries) {
    const holder = value as JsonObject | unknown[];
    const childPath = typeof key === "number" ? `${path}[${key}]` : path === "" ? key : `${path}.${key}`;
    let candidate: Candidate | undefined;
    if (typeof child === "string") {
      candidate = { holder, key, path: childPath, size: byteSize(child) };
    } else if (Array.isArray(child) || isObject(child)) {
      const inner = largestField(child, childPath);
      const size = byteSize(child);
      // A list is shortened as a whole unless one of its entries alone is most of it.
      candidate =
        Array.isArray(child) && (inner === undefined || inner.size * 2 <= size)
          ? { holder, key, path: childPath, size }
          : inner;
    }
    if (candidate !== undefined && (best === undefined || candidate.size > best.size)) best = candidate;
  }
  return best;
}

function shortestPrefixWithin(list: unknown[], maxBytes: number): number {
  let size = 2;
  for (let index = 0; index < list.length; index += 1) {
    size += byteSize(list[index]) + 1;
    if (size > maxBytes) return index;
  }
  return list.length;
}
