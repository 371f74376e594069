import { createHash } from "crypto";
import {
  accountOf,
  isObject,
  lifecycleOf,
  parseArn,
  productNamesOf,
  regionOf,
  resourcesOf,
  severityOf,
  textAt,
  textsAt,
  type JsonObject,
  type Resource,
  type SeverityLabel,
} from "./asff";
import type { PagerDutyEvent, PagerDutySeverity } from "./pagerdutyEvent";

// Limits of the PagerDuty Events API v2: a longer summary or a larger event is rejected, not truncated.
export const SUMMARY_MAX_CHARS = 1024;
export const EVENT_MAX_BYTES = 512 * 1024;
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

const CONSOLE_HOSTS: Record<string, string> = {
  aws: "console.aws.amazon.com",
  "aws-cn": "console.amazonaws.cn",
  "aws-us-gov": "console.amazonaws-us-gov.com",
};

export interface MappedFinding {
  findingId: string;
  productArn?: string;
  dedupKey: string;
  severityLabel: SeverityLabel;
  /** What the page shows, hashed: a re-import with the same fingerprint changes nothing for the responder. */
  fingerprint: string;
  /** The finding's UpdatedAt in epoch milliseconds, when it is a valid timestamp. */
  updatedAt?: number;
  event: PagerDutyEvent;
}

export type MappingResult = { ok: true; value: MappedFinding } | { ok: false; reason: string };

/**
 * The dedup key of a finding. Security Hub identifies a finding by its product and Id; ids can exceed the
 * 255 characters PagerDuty allows, so the pair is hashed. The trigger and the later resolve of a finding carry
 * the same pair and therefore the same key.
 */
export function dedupKeyOf(productArn: string | undefined, findingId: string): string {
  const digest = createHash("sha256")
    .update(`${productArn ?? ""}\n${findingId}`)
    .digest("hex");
  return `securityhub-${digest}`;
}

/**
 * A hash of what the page shows: severity, title, resources and compliance status. Timestamps, notes and the
 * workflow are left out: they change on every import or by this project's own write-back.
 */
export function fingerprintOf(finding: unknown): string {
  const resources = resourcesOf(finding)
    .map((resource) => `${resource.type} ${resource.id}`)
    .sort();
  const shown = [
    severityOf(finding).label,
    textAt(finding, "Title") ?? "",
    resources,
    lifecycleOf(finding).compliance ?? "",
  ];
  return createHash("sha256").update(JSON.stringify(shown)).digest("hex").slice(0, 16);
}

export function findingIdOf(finding: unknown): string | undefined {
  return textAt(finding, "Id");
}

/** One finding becomes one PagerDuty event, whatever its number of resources. */
export function mapFinding(finding: unknown, action: "trigger" | "resolve"): MappingResult {
  if (!isObject(finding)) return { ok: false, reason: "finding is not a JSON object" };
  const findingId = findingIdOf(finding);
  if (findingId === undefined) return { ok: false, reason: "finding has no Id (ASFF requires one)" };
  const productArn = textAt(finding, "ProductArn");
  const dedupKey = dedupKeyOf(productArn, findingId);
  const severity = severityOf(finding);
  const timestamp = isoTimestamp(textAt(finding, "UpdatedAt"));
  const identity = {
    findingId,
    ...(productArn === undefined ? {} : { productArn }),
    dedupKey,
    severityLabel: severity.label,
    fingerprint: fingerprintOf(finding),
    ...(timestamp === undefined ? {} : { updatedAt: Date.parse(timestamp) }),
  };
  if (action === "resolve") {
    return { ok: true, value: { ...identity, event: { event_action: "resolve", dedup_key: dedupKey } } };
  }

  const resources = resourcesOf(finding);
  const account = accountOf(finding);
  const region = regionOf(finding);
  const consoleUrl = consoleUrlOf(finding, findingId);
  const remediationUrl = textAt(finding, "Remediation", "Recommendation", "Url");
  const links: { href: string; text: string }[] = [];
  if (
    remediationUrl !== undefined &&
    remediationUrl.length <= URL_MAX_CHARS &&
    /^https?:\/\/\S+$/.test(remediationUrl)
  ) {
    links.push({ href: remediationUrl, text: "Remediation" });
  }
  if (consoleUrl !== undefined) links.push({ href: consoleUrl, text: "Finding in the Security Hub console" });

  const event: PagerDutyEvent = {
    event_action: "trigger",
    dedup_key: dedupKey,
    payload: {
      summary: summaryOf(severity.label, textAt(finding, "Title"), resources, account, region),
      source: cut(resources[0]?.id ?? account ?? findingId, SHORT_FIELD_MAX_CHARS),
      severity: PAGERDUTY_SEVERITY[severity.label],
      component: cut(resources[0]?.type ?? "unknown resource type", SHORT_FIELD_MAX_CHARS),
      group: cut(account ?? "unknown account", SHORT_FIELD_MAX_CHARS),
      class: cut(
        textsAt(finding, "Types")[0] ?? textAt(finding, "GeneratorId") ?? "finding",
        SHORT_FIELD_MAX_CHARS,
      ),
      custom_details: detailsOf(finding, findingId, severity, resources, account, region, remediationUrl),
    },
  };
  if (timestamp !== undefined && event.payload !== undefined) event.payload.timestamp = timestamp;
  if (links.length > 0) event.links = links;
  if (consoleUrl !== undefined) {
    event.client = "AWS Security Hub";
    event.client_url = consoleUrl;
  }
  return { ok: true, value: { ...identity, event: fitEvent(event, EVENT_MAX_BYTES) } };
}

function summaryOf(
  label: SeverityLabel,
  title: string | undefined,
  resources: Resource[],
  account: string | undefined,
  region: string | undefined,
): string {
  const first = resources[0];
  const more = resources.length > 1 ? ` and ${resources.length - 1} more` : "";
  const where = first === undefined ? "" : ` on ${cut(`${first.type} ${first.id}`, 300)}${more}`;
  const tail = `${where} (account ${account ?? "unknown"}, ${region ?? "unknown region"})`;
  const head = `${label}: `;
  const room = SUMMARY_MAX_CHARS - head.length - tail.length;
  return cut(`${head}${cut(title ?? "Untitled finding", room)}${tail}`, SUMMARY_MAX_CHARS);
}

function detailsOf(
  finding: JsonObject,
  findingId: string,
  severity: ReturnType<typeof severityOf>,
  resources: Resource[],
  account: string | undefined,
  region: string | undefined,
  remediationUrl: string | undefined,
): JsonObject {
  const lifecycle = lifecycleOf(finding);
  const details: JsonObject = {
    finding_id: findingId,
    product: productNamesOf(finding)[0] ?? textAt(finding, "ProductArn") ?? "unknown",
    product_arn: textAt(finding, "ProductArn"),
    generator_id: textAt(finding, "GeneratorId"),
    account: account ?? "unknown",
    region: region ?? "unknown",
    title: textAt(finding, "Title"),
    description: textAt(finding, "Description"),
    remediation: textAt(finding, "Remediation", "Recommendation", "Text"),
    remediation_url: remediationUrl,
    severity: severity.label,
    severity_from: severity.from,
    compliance_status: lifecycle.compliance,
    security_control_id: textAt(finding, "Compliance", "SecurityControlId"),
    related_requirements: textsAt(finding, "Compliance", "RelatedRequirements"),
    workflow_status: lifecycle.workflow,
    record_state: lifecycle.recordState,
    types: textsAt(finding, "Types"),
    first_observed_at: textAt(finding, "FirstObservedAt"),
    last_observed_at: textAt(finding, "LastObservedAt"),
    updated_at: textAt(finding, "UpdatedAt"),
    source_url: textAt(finding, "SourceUrl"),
    resources: resources.map((resource) => ({ ...resource })),
  };
  // Absent fields are left out rather than sent as nulls that clutter the alert.
  return Object.fromEntries(
    Object.entries(details).filter(
      ([, value]) => value !== undefined && !(Array.isArray(value) && value.length === 0),
    ),
  );
}

/** The finding in the Security Hub console of its own partition and Region; none for isolated partitions. */
function consoleUrlOf(finding: unknown, findingId: string): string | undefined {
  const arn = parseArn(textAt(finding, "ProductArn"));
  const partition = arn?.partition ?? resourcesOf(finding)[0]?.partition ?? "aws";
  const host = CONSOLE_HOSTS[partition];
  const region = arn?.region || regionOf(finding);
  if (host === undefined || region === undefined) return undefined;
  // The console's search syntax is itself URL-encoded inside the fragment, hence the double encoding.
  const id = encodeURIComponent(encodeURIComponent(findingId));
  return `https://${host}/securityhub/home?region=${region}#/findings?search=Id%3D%255Coperator%255C%253AEQUALS%255C%253A${id}`;
}

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})$/;

/** A strictly valid ISO 8601 timestamp, normalised to UTC; undefined for anything else (e.g. hour 122). */
export function isoTimestamp(value: string | undefined): string | undefined {
  const match = value === undefined ? null : ISO_8601.exec(value);
  if (match === null) return undefined;
  const [, year, month, day, hour, minute, second = "00", fraction = "0", zone] = match;
  const numbers = [year, month, day, hour, minute, second].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const [y, mo, d, h, mi, s] = numbers;
  if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || s > 59) return undefined;
  const millis = fraction.padEnd(3, "0").slice(0, 3);
  const offset = zone === "Z" ? "Z" : `${zone?.slice(0, 3)}:${zone?.slice(-2)}`;
  const parsed = new Date(`${year}-${month}-${day}T${hour}:${minute}:${second}.${millis}${offset}`);
  return Number.isNaN(parsed.getTime()) ? undefined : parsed.toISOString();
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

const CUT_MARKER = "…";

/** Cut to at most `max` UTF-16 units, marking the cut and never splitting a surrogate pair. */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  return text.slice(0, prefixLength(text, max - CUT_MARKER.length)) + CUT_MARKER;
}

/** `wanted` or one less, so that a prefix of that length does not end inside a surrogate pair. */
function prefixLength(text: string, wanted: number): number {
  const length = Math.max(0, Math.min(wanted, text.length));
  const code = text.charCodeAt(length - 1);
  return code >= 0xd800 && code <= 0xdbff ? length - 1 : length;
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
