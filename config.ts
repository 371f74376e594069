import * as pulumi from "@pulumi/pulumi";
import { SEVERITY_LABELS, isSeverityLabel, type SeverityLabel } from "./handler/finding/model";
import type { FindingFilter } from "./handler/finding/filter";
import { FINDING_FORMATS, lanesOf, stackRules, type FindingFormats } from "./infra/eventPatterns";
import { maximumConcurrencyFor, sendWindowSeconds } from "./infra/tuning";
import { WEEKDAYS, type SupportHours } from "./handler/finding/urgency";

// The typed stack configuration, read and validated once. Defaults live in Pulumi.yaml, where the CLI applies
// them (and the offline plan applies them the same way); this module only checks what it is given.

export const PROJECT = "electriceye-pagerduty";

/** A configuration mistake: the message names the key, the value and what is allowed, and nothing else prints. */
export class ConfigError extends pulumi.RunError {}

export type PagerDutyRegion = "us" | "eu";

export interface EscalationConfig {
  userEmails: string[];
  scheduleNames: string[];
  delayMinutes: number;
  loops: number;
}

export type PagerDutyConfig =
  /** Team, escalation policy, service and integration are created. */
  | {
      mode: "create";
      token: pulumi.Output<string>;
      teamName: string;
      serviceName: string;
      escalation: EscalationConfig;
      /** Seconds; 0 turns the acknowledgement timeout off. */
      acknowledgementTimeoutSeconds: number;
    }
  /** An integration is added to a service that already exists (one service, one key per account). */
  | { mode: "existingService"; token: pulumi.Output<string>; serviceId: string }
  /** A routing key is given; nothing is created in PagerDuty. */
  | { mode: "existingKey"; routingKey: pulumi.Output<string> };

export interface DeliveryTuning {
  batchSize: number;
  maximumConcurrency: number;
  functionTimeoutSeconds: number;
  maxReceiveCount: number;
  eventsPerMinute: number;
  routingKeyTtlSeconds: number;
  memorySizeMb: number;
  logRetentionDays: number;
}

export interface AlertStateConfig {
  /** Hours after which an unchanged open alert is sent again (0: never). */
  refreshHours: number;
  /** Until when (epoch ms) resolves are sent for findings without alert state: the upgrade's transition. */
  resolveUntrackedUntil: number | undefined;
}

export interface UrgencyConfig {
  /** Undefined ("always"): PagerDuty's severity-based urgency at every hour. */
  supportHours: SupportHours | undefined;
  /** Severities that are high urgency outside support hours too. */
  urgentAtAnyHour: SeverityLabel[];
  /** Hours after the first deploy during which alerts that open are the backlog, at low urgency (0: none). */
  backlogBaselineHours: number;
}

export interface SyncConfig {
  /** Security Hub and PagerDuty in both directions: write-back, webhooks, the "Page on-call" custom action. */
  enabled: boolean;
  /** The PagerDuty service as notes in Security Hub name it. */
  serviceName: string;
}

export interface StackConfig {
  stack: string;
  filter: FindingFilter;
  /** The feeds that page: Security Hub CSPM's ASFF, the new Security Hub's OCSF, or both. */
  findingFormats: FindingFormats;
  resolveRule: boolean;
  priorityLanes: boolean;
  parameterName: string;
  kmsKeyArn: string | undefined;
  pagerDutyRegion: PagerDutyRegion;
  pagerduty: PagerDutyConfig;
  delivery: DeliveryTuning;
  alertState: AlertStateConfig;
  urgency: UrgencyConfig;
  sync: SyncConfig;
  alarms: { enabled: boolean; email: string | undefined; pageDelayMinutes: number };
}

/** Where configuration comes from: the Pulumi config in a deployment, a plain map in tests. */
export interface ConfigSource {
  stack: string;
  /** The plain value of a project key (structured values as JSON text), or undefined. */
  get(key: string): string | undefined;
  /** The value of a secret key, kept secret, or undefined when it is not set. */
  getSecret(key: string): pulumi.Output<string> | undefined;
  /** The PagerDuty API token (pagerduty:token, else PAGERDUTY_TOKEN as the provider itself reads), or undefined. */
  pagerdutyToken(): pulumi.Output<string> | undefined;
}

export function pulumiConfigSource(): ConfigSource {
  const project = new pulumi.Config();
  const pagerduty = new pulumi.Config("pagerduty");
  return {
    stack: pulumi.getStack(),
    get: (key) => project.get(key),
    getSecret: (key) => project.getSecret(key),
    pagerdutyToken: () => {
      const configured = pagerduty.getSecret("token");
      if (configured !== undefined) return configured;
      const fromEnvironment = process.env.PAGERDUTY_TOKEN;
      return fromEnvironment === undefined || fromEnvironment === ""
        ? undefined
        : pulumi.secret(fromEnvironment);
    },
  };
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const WORKFLOW_STATUSES = ["NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"];

export function readStackConfig(source: ConfigSource): StackConfig {
  const key = (name: string) => `${PROJECT}:${name}`;
  const fail = (name: string, value: unknown, allowed: string): never => {
    throw new ConfigError(`config ${key(name)} is ${JSON.stringify(value)}: ${allowed}`);
  };
  const text = (name: string): string | undefined => {
    const value = source.get(name)?.trim();
    return value === "" ? undefined : value;
  };
  const list = (name: string): string[] => {
    const raw = text(name);
    if (raw === undefined) return [];
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      return fail(name, raw, 'expected a list, e.g. ["a", "b"]');
    }
    if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
      return fail(name, value, "expected a list of strings");
    }
    return value.map((item: string) => item.trim()).filter((item) => item !== "");
  };
  const flag = (name: string): boolean => {
    const raw = text(name);
    if (raw !== "true" && raw !== "false") return fail(name, raw ?? null, "expected true or false");
    return raw === "true";
  };
  const integer = (name: string, min: number, max: number): number => {
    const raw = text(name);
    const value = Number(raw);
    if (raw === undefined || !Number.isInteger(value) || value < min || value > max) {
      return fail(name, raw ?? null, `expected a whole number from ${min} to ${max}`);
    }
    return value;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[]): T => {
    const raw = text(name);
    if (raw === undefined || !(allowed as readonly string[]).includes(raw)) {
      return fail(name, raw ?? null, `expected one of ${allowed.join(", ")}`);
    }
    return raw as T;
  };

  const labels = (name: string, atLeastOne: boolean): SeverityLabel[] => {
    const values = list(name);
    if (values.some((label) => !isSeverityLabel(label)) || (atLeastOne && values.length === 0))
      fail(name, values, `expected ${atLeastOne ? "one or more" : "any"} of ${SEVERITY_LABELS.join(", ")}`);
    return values as SeverityLabel[];
  };
  const severityLabels = labels("severityLabels", true);
  const allProducts = flag("allProducts");
  const products = list("products");
  if (allProducts && products.length > 0) {
    fail(
      "products",
      products,
      `must be empty when ${key("allProducts")} is true (every product is accepted)`,
    );
  }
  if (!allProducts && products.length === 0) {
    fail("products", products, `name at least one product, or set ${key("allProducts")} to true`);
  }
  const workflowStatuses = list("workflowStatuses");
  const badStatus = workflowStatuses.find((status) => !WORKFLOW_STATUSES.includes(status));
  if (badStatus !== undefined)
    fail("workflowStatuses", workflowStatuses, `expected any of ${WORKFLOW_STATUSES.join(", ")}`);

  const kmsKeyArn = text("kmsKeyArn");
  if (kmsKeyArn !== undefined && !/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]+$/.test(kmsKeyArn)) {
    fail(
      "kmsKeyArn",
      kmsKeyArn,
      "expected the ARN of a KMS key (arn:aws:kms:REGION:ACCOUNT:key/ID); aliases are not accepted",
    );
  }
  const parameterName = text("parameterName");
  if (parameterName === undefined || !/^[a-zA-Z0-9_.\-/]{1,1011}$/.test(parameterName)) {
    fail("parameterName", parameterName ?? null, "expected an SSM parameter name (letters, digits, _ . - /)");
  }
  const alarmEmail = text("alarmEmail");
  if (alarmEmail !== undefined && !EMAIL.test(alarmEmail))
    fail("alarmEmail", alarmEmail, "expected an email address");

  const eventsPerMinute = integer("eventsPerMinute", 1, 120);
  const pagerduty = readPagerDuty(source, { key, fail, text, list, integer, oneOf });
  const untrackedUntil = text("resolveUntrackedUntil");
  const resolveUntrackedUntil =
    untrackedUntil === undefined
      ? undefined
      : /^\d{4}-\d{2}-\d{2}(T[\d:.]+Z)?$/.test(untrackedUntil) && !Number.isNaN(Date.parse(untrackedUntil))
        ? Date.parse(untrackedUntil)
        : fail(
            "resolveUntrackedUntil",
            untrackedUntil,
            "expected a date such as 2026-12-31 (or 2026-12-31T12:00:00Z), until which resolves are sent for findings without alert state",
          );
  const config: StackConfig = {
    stack: source.stack,
    filter: {
      severityLabels,
      products,
      workflowStatuses,
      activeOnly: flag("activeOnly"),
    },
    findingFormats: oneOf("findingFormats", FINDING_FORMATS),
    resolveRule: flag("resolveRule"),
    priorityLanes: flag("priorityLanes"),
    parameterName: parameterName as string,
    kmsKeyArn,
    pagerDutyRegion: oneOf("pagerdutyRegion", ["us", "eu"] as const),
    pagerduty,
    delivery: {
      batchSize: integer("batchSize", 1, 10),
      maximumConcurrency: integer("maximumConcurrency", 2, 1000),
      functionTimeoutSeconds: integer("functionTimeoutSeconds", 10, 900),
      maxReceiveCount: integer("maxReceiveCount", 3, 1000),
      eventsPerMinute,
      routingKeyTtlSeconds: integer("routingKeyTtlSeconds", 10, 3600),
      memorySizeMb: integer("memorySizeMb", 128, 10240),
      logRetentionDays: retentionDays(integer("logRetentionDays", 1, 3653), fail),
    },
    alertState: { refreshHours: integer("alertRefreshHours", 0, 8760), resolveUntrackedUntil },
    urgency: {
      supportHours: readSupportHours(text("supportHours"), fail),
      urgentAtAnyHour: labels("urgentAtAnyHour", false),
      backlogBaselineHours: integer("backlogBaselineHours", 0, 720),
    },
    sync: { enabled: flag("securityHubSync"), serviceName: serviceNameOf(pagerduty) },
    alarms: {
      enabled: flag("alarms"),
      email: alarmEmail,
      pageDelayMinutes: integer("pageDelayAlarmMinutes", 1, 1440),
    },
  };
  const { delivery } = config;
  const lanes = lanesOf(stackRules(config)).length;
  const most = maximumConcurrencyFor(delivery, lanes);
  if (delivery.maximumConcurrency > most)
    fail(
      "maximumConcurrency",
      delivery.maximumConcurrency,
      `expected at most ${most} with functionTimeoutSeconds ${delivery.functionTimeoutSeconds}, eventsPerMinute ${delivery.eventsPerMinute} and ${lanes} lane(s): the send schedule gives each invocation a slot within its ${sendWindowSeconds(delivery.functionTimeoutSeconds)} s send window only that far; more would wait, hand records back and hold a CRITICAL behind them`,
    );
  return config;
}

function serviceNameOf(pagerduty: PagerDutyConfig): string {
  switch (pagerduty.mode) {
    case "create":
      return pagerduty.serviceName;
    case "existingService":
      return `PagerDuty service ${pagerduty.serviceId}`;
    case "existingKey":
      return "the stack's PagerDuty integration";
  }
}

const SUPPORT_HOURS = /^([A-Za-z,-]+) (\d{2}):(\d{2})-(\d{2}):(\d{2}) (\S+)$/;
const SUPPORT_HOURS_ALLOWED =
  'expected "always" or days, hours and an IANA time zone such as "Mon-Fri 09:00-17:00 Europe/Berlin" (days as Mon-Fri or Mon,Wed,Fri; times 00:00 to 23:59, start before end)';

/** "Mon-Fri 09:00-17:00 Europe/Berlin" as PagerDuty's support hours; "always" for none. */
export function readSupportHours(raw: string | undefined, fail: Readers["fail"]): SupportHours | undefined {
  if (raw === undefined) return fail("supportHours", null, SUPPORT_HOURS_ALLOWED);
  if (raw === "always") return undefined;
  const match = SUPPORT_HOURS.exec(raw);
  if (match === null) return fail("supportHours", raw, SUPPORT_HOURS_ALLOWED);
  const [, dayText = "", startHour, startMinute, endHour, endMinute, timeZone = ""] = match;
  const dayOf = (name: string) => WEEKDAYS.indexOf(name as (typeof WEEKDAYS)[number]) + 1;
  const days = new Set<number>();
  for (const part of dayText.split(",")) {
    const [from = "", to] = part.split("-");
    const first = dayOf(from);
    const last = to === undefined ? first : dayOf(to);
    if (first === 0 || last === 0 || last < first) return fail("supportHours", raw, SUPPORT_HOURS_ALLOWED);
    for (let day = first; day <= last; day += 1) days.add(day);
  }
  const start = Number(startHour) * 60 + Number(startMinute);
  const end = Number(endHour) * 60 + Number(endMinute);
  const outOfRange =
    [startHour, endHour].some((hour) => Number(hour) > 23) ||
    [startMinute, endMinute].some((minute) => Number(minute) > 59);
  if (outOfRange || start >= end) return fail("supportHours", raw, SUPPORT_HOURS_ALLOWED);
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
  } catch {
    return fail(
      "supportHours",
      raw,
      `${timeZone} is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)`,
    );
  }
  return { timeZone, days: [...days].sort((a, b) => a - b), startMinute: start, endMinute: end };
}

// CloudWatch Logs accepts only these retention periods.
const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

function retentionDays(value: number, fail: Readers["fail"]): number {
  return RETENTION_DAYS.includes(value)
    ? value
    : fail("logRetentionDays", value, `expected one of ${RETENTION_DAYS.join(", ")}`);
}

interface Readers {
  key: (name: string) => string;
  fail: (name: string, value: unknown, allowed: string) => never;
  text: (name: string) => string | undefined;
  list: (name: string) => string[];
  integer: (name: string, min: number, max: number) => number;
  oneOf: <T extends string>(name: string, allowed: readonly T[]) => T;
}

function readPagerDuty(source: ConfigSource, { key, fail, text, list, integer }: Readers): PagerDutyConfig {
  const userEmails = list("escalationUserEmails");
  const scheduleNames = list("escalationScheduleNames");
  const serviceId = text("existingServiceId");
  const routingKey = source.getSecret("existingRoutingKey");
  const creationKeys = [
    ["escalationUserEmails", userEmails.length > 0],
    ["escalationScheduleNames", scheduleNames.length > 0],
    ["existingServiceId", serviceId !== undefined],
  ] as const;

  if (routingKey !== undefined) {
    const clash = creationKeys.find(([, set]) => set);
    if (clash !== undefined) {
      throw new ConfigError(
        `config ${key("existingRoutingKey")} is set, and so is ${key(clash[0])}: an existing routing key means no PagerDuty service or integration is created; remove one of them`,
      );
    }
    return { mode: "existingKey", routingKey };
  }
  const token = source.pagerdutyToken();
  if (token === undefined) {
    throw new ConfigError(
      `config pagerduty:token is not set (nor PAGERDUTY_TOKEN): creating the PagerDuty integration needs an API token with write access; run pulumi config set --secret pagerduty:token <token>, or set ${key("existingRoutingKey")} to use a routing key as it is`,
    );
  }
  if (serviceId !== undefined) {
    if (!/^P[A-Z0-9]{5,}$/.test(serviceId))
      fail("existingServiceId", serviceId, "expected a PagerDuty service ID such as PABC123");
    const clash = creationKeys.find(([name, set]) => set && name !== "existingServiceId");
    if (clash !== undefined) {
      throw new ConfigError(
        `config ${key("existingServiceId")} is set, and so is ${key(clash[0])}: an existing service keeps its own escalation policy; remove one of them`,
      );
    }
    return { mode: "existingService", token, serviceId };
  }
  const badEmail = userEmails.find((email) => !EMAIL.test(email));
  if (badEmail !== undefined)
    fail("escalationUserEmails", badEmail, "expected an email address of a PagerDuty user");
  if (userEmails.length === 0 && scheduleNames.length === 0) {
    throw new ConfigError(
      `config ${key("escalationUserEmails")} and ${key("escalationScheduleNames")} are both empty: the escalation policy needs at least one PagerDuty user (by email) or schedule (by name)`,
    );
  }
  refuseServiceGrouping(text("alertGrouping"), fail);
  return {
    mode: "create",
    token,
    teamName: text("teamName") ?? fail("teamName", null, "expected a team name"),
    serviceName: text("serviceName") ?? `Security Hub findings (${source.stack})`,
    escalation: {
      userEmails,
      scheduleNames,
      delayMinutes: integer("escalationDelayMinutes", 1, 1440),
      loops: integer("escalationLoops", 0, 9),
    },
    acknowledgementTimeoutSeconds: integer("acknowledgementTimeoutSeconds", 0, 86400),
  };
}

/**
 * PagerDuty's own grouping is not set by this program: the service field it would go in
 * (alert_grouping_parameters) is deprecated, and @pulumi/pagerduty 3.4.0 sends parameters PagerDuty's API has
 * refused since 2024, so `pulumi up` could fail on it. Refused here, before `pulumi up`, naming what to do instead.
 */
function refuseServiceGrouping(value: string | undefined, fail: Readers["fail"]): void {
  if (value === undefined || value === "none") return;
  fail(
    "alertGrouping",
    value,
    "expected none: this program no longer sets PagerDuty's grouping (the service field is deprecated and the provider installed here sends parameters PagerDuty refuses); use alertPer: control for one alert per failing control and account, or set Alert Grouping Settings on the service in PagerDuty (content-based on class and group needs AIOps)",
  );
}
