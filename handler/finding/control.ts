import { hash } from "crypto";
import { dedupKeyOf, fitEvent, EVENT_MAX_BYTES, SUMMARY_MAX_CHARS } from "./mapping";
import { SEVERITY_LABELS, type Finding, type Resource, type SeverityLabel } from "./model";
import type { PagerDutyEvent } from "./pagerdutyEvent";
import { cut } from "./text";

// One alert per failing control per account. A control is the check a finding is the result of, whichever product
// ran it; findings of the same control in the same account (and, if configured, Region and resource type) are the
// members of one group, which pages once and resolves when its last member passes. Pure.

export interface Control {
  id: string;
  /** The field the control was read from, for a reader of the page. */
  from: string;
}

/**
 * The control of a finding, or undefined when it is not a check's result (threat detections, vulnerabilities):
 * such a finding keeps an alert of its own.
 * - ASFF: Compliance.SecurityControlId (Security Hub's consolidated controls), else ProductFields.ControlId
 *   (Security Hub per standard, before consolidation); else, for a finding with a compliance status, the check
 *   named after the resource in its Id (ElectricEye: Id = GeneratorId, the resource's ARN, "/" the check), else
 *   its GeneratorId (Prowler's check, Security Hub's standard control).
 * - OCSF: compliance.control (the new Security Hub, ElectricEye's OCSF output); else, for a finding with a
 *   compliance status, finding_info.analytic's uid or name (the rule that evaluated it).
 */
export function controlOf(finding: Finding): Control | undefined {
  const ocsf = finding.format === "ocsf";
  if (finding.securityControlId !== undefined)
    return {
      id: finding.securityControlId,
      from: ocsf ? "compliance.control" : "Compliance.SecurityControlId",
    };
  if (finding.productControlId !== undefined)
    return { id: finding.productControlId, from: "ProductFields.ControlId" };
  const generator = finding.generatorId;
  if (finding.compliance === undefined || generator === undefined) return undefined;
  if (ocsf) return { id: generator, from: "finding_info.analytic" };
  const check = finding.id.startsWith(`${generator}/`) ? finding.id.slice(generator.length + 1) : "";
  return check !== "" && !check.includes("/")
    ? { id: check, from: "the check named in Id after GeneratorId" }
    : { id: generator, from: "GeneratorId" };
}

export const GROUP_FIELDS = ["control", "account", "region", "resourceType"] as const;
export type GroupField = (typeof GROUP_FIELDS)[number];

export interface Grouping {
  /** finding: one alert per finding; control: one per failing control and the other group fields. */
  per: "finding" | "control";
  /** What makes a group besides the control. */
  fields: GroupField[];
  /** CRITICAL findings keep an alert each. */
  criticalAlone: boolean;
}

export const ALERT_PER_FINDING: Grouping = { per: "finding", fields: [], criticalAlone: true };

export interface GroupIdentity {
  /** The group's alert key (dedup key). */
  dedupKey: string;
  control: Control;
  account?: string;
  region?: string;
  resourceType?: string;
}

/**
 * The group a finding belongs to under the stack's grouping, or undefined when it pages alone. A finding on a route
 * other than the default one (`route`) is grouped within its route: one team's page never counts another's resources.
 */
export function groupOf(finding: Finding, grouping: Grouping, route?: string): GroupIdentity | undefined {
  if (grouping.per === "finding") return undefined;
  if (grouping.criticalAlone && finding.severity.label === "CRITICAL") return undefined;
  const control = controlOf(finding);
  if (control === undefined) return undefined;
  const values: Record<GroupField, string | undefined> = {
    control: control.id,
    account: finding.account,
    region: finding.region,
    resourceType: finding.resources[0]?.type,
  };
  const fields: GroupField[] = ["control", ...grouping.fields.filter((field) => field !== "control")];
  const named = fields.map((field) => [field, values[field] ?? ""]);
  const digest = hash(
    "sha256",
    JSON.stringify(route === undefined ? named : [...named, ["route", route]]),
    "hex",
  );
  const identity: GroupIdentity = { dedupKey: `securityhub-group-${digest}`, control };
  for (const field of fields) {
    const value = values[field];
    if (field !== "control" && value !== undefined) identity[field] = value;
  }
  return identity;
}

/** The alert a finding's events go to: its group's, or its own. The shape a grouping is explored with. */
export function alertKeyOf(finding: Finding, grouping: Grouping): string {
  return groupOf(finding, grouping)?.dedupKey ?? dedupKeyOf(finding.productArn, finding.id);
}

/** What a group's page shows, from the group's current members. */
export interface GroupPage {
  group: GroupIdentity;
  title?: string;
  /** How many resources fail now (members are findings; a finding may name several resources). */
  failing: number;
  /** The first few failing resources. */
  resources: Resource[];
  highest: SeverityLabel;
  remediationText?: string;
  remediationUrl?: string;
  /** The live list of the group's failing findings in the Security Hub console. */
  liveListUrl?: string;
}

/** Resources listed on a group's page; the live list in the console has the rest. */
export const GROUP_PAGE_RESOURCES = 10;

const NOUNS: Record<string, [string, string]> = {
  AwsS3Bucket: ["bucket", "buckets"],
  AwsEc2Instance: ["instance", "instances"],
  AwsEc2Volume: ["volume", "volumes"],
  AwsEc2SecurityGroup: ["security group", "security groups"],
  AwsIamRole: ["role", "roles"],
  AwsIamUser: ["user", "users"],
  AwsLambdaFunction: ["function", "functions"],
  AwsRdsDbInstance: ["DB instance", "DB instances"],
  AwsSqsQueue: ["queue", "queues"],
};

function counted(count: number, resources: Resource[]): string {
  const types = new Set(resources.map((resource) => resource.type));
  const [one, many] =
    types.size === 1 ? (NOUNS[[...types][0] ?? ""] ?? ["resource", "resources"]) : ["resource", "resources"];
  return `${count} ${count === 1 ? one : many}`;
}

export function higherSeverity(a: SeverityLabel, b: SeverityLabel): SeverityLabel {
  return SEVERITY_LABELS.indexOf(a) >= SEVERITY_LABELS.indexOf(b) ? a : b;
}

// The console's search syntax is itself URL-encoded inside the fragment, hence the double encoding.
function equals(field: string, value: string): string {
  return `${field}%3D%255Coperator%255C%253AEQUALS%255C%253A${encodeURIComponent(encodeURIComponent(value))}`;
}

/** The Security Hub console's list of the group's findings that fail now, in the Region of a member's link. */
export function liveListUrlOf(member: Finding, group: GroupIdentity): string | undefined {
  if (member.consoleUrl === undefined) return undefined;
  const [base] = member.consoleUrl.split("#");
  if (member.format === "ocsf") {
    const filters = [`compliance.control=${group.control.id}`, "compliance.status=Fail"];
    if (group.account !== undefined) filters.push(`cloud.account.uid=${group.account}`);
    return `${base}#/findings?search=${encodeURIComponent(filters.join("&"))}`;
  }
  const control =
    group.control.from === "Compliance.SecurityControlId"
      ? equals("ComplianceSecurityControlId", group.control.id)
      : group.control.from === "GeneratorId"
        ? equals("GeneratorId", group.control.id)
        : equals("Title", member.title ?? group.control.id);
  const filters = [
    control,
    ...(group.account === undefined ? [] : [equals("AwsAccountId", group.account)]),
    equals("ComplianceStatus", "FAILED"),
    equals("RecordState", "ACTIVE"),
  ];
  return `${base}#/findings?search=${filters.join("%26")}`;
}

/** What a member tells of its group's page: everything but the members. */
export function pageBasisOf(
  member: Finding,
  group: GroupIdentity,
): Omit<GroupPage, "failing" | "resources" | "highest"> {
  const liveListUrl = liveListUrlOf(member, group);
  return {
    group,
    ...(member.title === undefined ? {} : { title: member.title }),
    ...(member.remediationText === undefined ? {} : { remediationText: member.remediationText }),
    ...(member.remediationUrl === undefined ? {} : { remediationUrl: member.remediationUrl }),
    ...(liveListUrl === undefined ? {} : { liveListUrl }),
  };
}

/** The group's page as a PagerDuty event: what is wrong, where, on how many resources now, and how to fix it. */
export function groupEvent(page: GroupPage): PagerDutyEvent {
  const { group } = page;
  const title = page.title ?? group.control.id;
  // ElectricEye's titles name their control already ("[S3.1] ..."); others get it in front.
  const named =
    title.includes(group.control.id) || /^\[[^\]]+\]/.test(title) ? title : `[${group.control.id}] ${title}`;
  const where = `(account ${group.account ?? "unknown"}, ${group.region ?? "every Region"})`;
  const summary = cut(
    `${page.highest}: ${named} fails on ${counted(page.failing, page.resources)} ${where}`,
    SUMMARY_MAX_CHARS,
  );
  const shown = page.resources.slice(0, GROUP_PAGE_RESOURCES);
  const links: { href: string; text: string }[] = [];
  if (page.liveListUrl !== undefined)
    links.push({ href: page.liveListUrl, text: "Failing findings of this control (Security Hub console)" });
  if (page.remediationUrl !== undefined && /^https?:\/\/\S+$/.test(page.remediationUrl))
    links.push({ href: page.remediationUrl, text: "Remediation" });
  const event: PagerDutyEvent = {
    event_action: "trigger",
    dedup_key: group.dedupKey,
    payload: {
      summary,
      source: cut(group.account ?? "unknown account", 255),
      severity: page.highest === "CRITICAL" ? "critical" : "error",
      component: cut(page.resources[0]?.type ?? "unknown resource type", 255),
      // PagerDuty's content-based grouping can use these too.
      group: cut(group.account ?? "unknown account", 255),
      class: cut(group.control.id, 255),
      custom_details: {
        control: group.control.id,
        control_from: group.control.from,
        title,
        account: group.account ?? "unknown",
        region: group.region ?? "every Region",
        ...(group.resourceType === undefined ? {} : { resource_type: group.resourceType }),
        failing_now: page.failing,
        highest_severity: page.highest,
        resources: shown.map((resource) => ({ ...resource })),
        ...(page.failing > shown.length
          ? { more: `${page.failing - shown.length} more in the live list (link)` }
          : {}),
        ...(page.remediationText === undefined ? {} : { remediation: page.remediationText }),
        note: "PagerDuty keeps the body of an alert's first event: the count is as of the page; the live list is current.",
      },
    },
  };
  if (links.length > 0) event.links = links;
  return fitEvent(event, EVENT_MAX_BYTES);
}
