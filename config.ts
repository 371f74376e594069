import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { SEVERITY_LABELS, isSeverityLabel, type SeverityLabel } from "./handler/finding/model";
import type { FindingFilter } from "./handler/finding/filter";
import {
  DEFAULT_ROUTE,
  MAX_INTEGRATIONS,
  MATCH_FIELDS,
  takesEverythingOf,
  type AccountScope,
  type RouteMatch,
} from "./handler/finding/routes";
import { FINDING_FORMATS, lanesOf, stackRules, type FindingFormats } from "./infra/eventPatterns";
import {
  INVOCATION_PAYLOAD_BYTES,
  MAX_RECORD_CONCURRENCY,
  RECORD_BYTES,
  RECORD_WORK_MS,
  maximumConcurrencyFor,
  readingBudgetMs,
  sendWindowSeconds,
} from "./infra/tuning";
import { WEEKDAYS, type SupportHours } from "./handler/finding/urgency";
import { GROUP_FIELDS, type GroupField, type Grouping } from "./handler/finding/control";

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
      /** Events API v2 integrations on the service, each with its own routing key and rate limit. */
      integrations: number;
    }
  /** Integrations are added to a service that already exists (one service, its keys per account). */
  | { mode: "existingService"; token: pulumi.Output<string>; serviceId: string; integrations: number }
  /** A routing key is given; nothing is created in PagerDuty. */
  | { mode: "existingKey"; routingKey: pulumi.Output<string> };

/** The Events API v2 integrations, each with its own routing key, a PagerDuty side sends through. */
export function integrationsOf(pagerduty: PagerDutyConfig): number {
  return pagerduty.mode === "existingKey" ? 1 : pagerduty.integrations;
}

export interface DeliveryTuning {
  /** Records per invocation in the standard and resolve lanes (the critical lane takes at most ten). */
  batchSize: number;
  /** Seconds the event source mapping gathers records before invoking (at least 1 above ten records). */
  maximumBatchingWindowSeconds: number;
  /** Records of a batch the function works on at once. */
  recordConcurrency: number;
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

export interface CustomAction {
  /** Unique per account and Region; at most 20 letters and digits. */
  identifier: string;
  /** As the Security Hub console lists it; at most 20 characters. */
  name: string;
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
  /** PagerDuty's side back to the finding, through a public function URL; off keeps write-back and custom action. */
  webhookEndpoint: boolean;
  customAction: CustomAction;
  /** The PagerDuty service as notes in Security Hub name it. */
  serviceName: string;
}

/** A route of the stack: the findings it matches page its own PagerDuty service, through its own routing key. */
export interface RouteConfig {
  name: string;
  match: RouteMatch;
  pagerduty: PagerDutyConfig;
  /** The route's own SSM SecureString parameter. */
  parameterName: string;
  /** The PagerDuty service, as notes in Security Hub name it. */
  serviceName: string;
  /** The route's support hours (its own, else the stack's); undefined: always. */
  supportHours: SupportHours | undefined;
}

/** How the function reads account tags and parents from AWS Organizations. */
export interface OrganizationsConfig {
  /** A role to assume (in the management account); undefined: the function's own role (management or delegated administrator account). */
  roleArn: string | undefined;
  cacheMinutes: number;
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
  /** One alert per finding, or per failing control and the group's other fields. */
  grouping: Grouping;
  sync: SyncConfig;
  alarms: { enabled: boolean; email: string | undefined; pageDelayMinutes: number };
  /** The routes before the default one (the stack's own PagerDuty keys), in order: the first match wins. */
  routes: RouteConfig[];
  accountScope: AccountScope;
  /** Read only when a route matches on account tags or organizational units. */
  organizations: OrganizationsConfig | undefined;
  /** Tags on every taggable AWS resource of the stack. */
  tags: Record<string, string>;
  /** Pulumi's protect on the state table: neither destroy nor a replacement deletes it. */
  protectState: boolean;
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

const LIST_SYNTAX = 'JSON (["HIGH","CRITICAL"]) or commas (HIGH,CRITICAL)';

/**
 * A list setting as text: JSON, as Pulumi stores a YAML list, or comma-separated, as people type one on a command
 * line. Undefined when JSON-looking text does not parse; anything JSON that is not a list is returned as it is,
 * for the caller to refuse.
 */
export function parseList(raw: string): unknown {
  const trimmed = raw.trim();
  if (trimmed.startsWith("[") || trimmed.startsWith("{") || trimmed.startsWith('"')) {
    try {
      return JSON.parse(trimmed) as unknown;
    } catch {
      return undefined;
    }
  }
  return trimmed
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const WORKFLOW_STATUSES = ["NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"];

function readersFor(source: ConfigSource, key: (name: string) => string): Readers {
  const fail = (name: string, value: unknown, allowed: string): never => {
    throw new ConfigError(`config ${key(name)} is ${JSON.stringify(value)}: ${allowed}`);
  };
  const text = (name: string): string | undefined => {
    const value = source.get(name)?.trim();
    return value === "" ? undefined : value;
  };
  const list = (name: string): string[] => {
    const value = parseList(text(name) ?? "");
    if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
      return fail(name, value ?? text(name), `expected a list of strings: ${LIST_SYNTAX}`);
    }
    return value.map((item: string) => item.trim()).filter((item) => item !== "");
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
  return { key, fail, text, list, integer, oneOf };
}

export function readStackConfig(source: ConfigSource): StackConfig {
  const readers = readersFor(source, (name) => `${PROJECT}:${name}`);
  const { key, fail, text, list, integer, oneOf } = readers;
  const flag = (name: string): boolean => {
    const raw = text(name);
    if (raw !== "true" && raw !== "false") return fail(name, raw ?? null, "expected true or false");
    return raw === "true";
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
  // Names unique per account and Region derive from the stack, so that stacks live side by side.
  const parameterName = text("parameterName") ?? `electriceye-pagerduty-${source.stack}`;
  if (!/^[a-zA-Z0-9_.\-/]{1,1011}$/.test(parameterName)) {
    fail("parameterName", parameterName, "expected an SSM parameter name (letters, digits, _ . - /)");
  }
  const customActionId = text("customActionId") ?? defaultCustomActionId(source.stack);
  if (!/^[A-Za-z0-9]{1,20}$/.test(customActionId))
    fail("customActionId", customActionId, "expected 1 to 20 letters and digits (Security Hub's limit)");
  const alarmEmail = text("alarmEmail");
  if (alarmEmail !== undefined && !EMAIL.test(alarmEmail))
    fail("alarmEmail", alarmEmail, "expected an email address");

  const eventsPerMinute = integer("eventsPerMinute", 1, 120);
  const tags = Object.fromEntries(
    list("tags").map((pair) => {
      const at = pair.indexOf("=");
      const [name, value] = [pair.slice(0, at).trim(), pair.slice(at + 1).trim()];
      // AWS's tag rules: keys up to 128 characters, values up to 256, no aws: prefix.
      if (at <= 0 || name.length > 128 || value.length > 256 || name.toLowerCase().startsWith("aws:"))
        fail("tags", pair, "expected KEY=VALUE pairs (key up to 128 characters, not starting with aws:)");
      return [name, value];
    }),
  );
  const pagerduty = readPagerDuty(source, readers, {
    serviceName: `Security Hub findings (${source.stack})`,
    // Team names are unique in a PagerDuty account: a stack's own, unless one is given.
    teamName: `ElectricEye-Incidents (${source.stack})`,
  });
  const routes = readRoutes(source, readers, parameterName as string);
  const accountScope = {
    include: accountList("includeAccounts", readers),
    exclude: accountList("excludeAccounts", readers),
  };
  const bothWays = accountScope.include.find((account) => accountScope.exclude.includes(account));
  if (bothWays !== undefined)
    fail(
      "excludeAccounts",
      bothWays,
      `is also in ${key("includeAccounts")}: an account is either paged here or not`,
    );
  const roleArn = text("organizationsRoleArn");
  if (roleArn !== undefined && !/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/.test(roleArn))
    fail("organizationsRoleArn", roleArn, "expected the ARN of an IAM role (arn:aws:iam::ACCOUNT:role/NAME)");
  const needsOrganizations = routes.some(
    (route) => route.match.accountTags !== undefined || route.match.organizationalUnits !== undefined,
  );
  if (roleArn !== undefined && !needsOrganizations)
    fail(
      "organizationsRoleArn",
      roleArn,
      "no route matches on accountTags or organizationalUnits, so Organizations is never read: remove it",
    );
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
    parameterName,
    kmsKeyArn,
    pagerDutyRegion: oneOf("pagerdutyRegion", ["us", "eu"] as const),
    pagerduty,
    delivery: {
      batchSize: integer("batchSize", 1, 10_000),
      maximumBatchingWindowSeconds: integer("maximumBatchingWindowSeconds", 0, 300),
      recordConcurrency: integer("recordConcurrency", 1, MAX_RECORD_CONCURRENCY),
      maximumConcurrency: integer("maximumConcurrency", 2, 1000),
      functionTimeoutSeconds: integer("functionTimeoutSeconds", 10, 900),
      maxReceiveCount: integer("maxReceiveCount", 3, 1000),
      eventsPerMinute,
      routingKeyTtlSeconds: integer("routingKeyTtlSeconds", 10, 3600),
      memorySizeMb: integer("memorySizeMb", 128, 10240),
      logRetentionDays: retentionDays(integer("logRetentionDays", 1, 3653), fail),
    },
    alertState: { refreshHours: integer("alertRefreshHours", 0, 8760), resolveUntrackedUntil },
    grouping: readGrouping(readers, flag),
    urgency: {
      supportHours: readSupportHours(text("supportHours"), fail),
      urgentAtAnyHour: labels("urgentAtAnyHour", false),
      backlogBaselineHours: integer("backlogBaselineHours", 0, 720),
    },
    sync: {
      enabled: flag("securityHubSync"),
      webhookEndpoint: flag("webhookEndpoint"),
      customAction: { identifier: customActionId, name: `Page on-call ${source.stack}`.slice(0, 20) },
      serviceName: serviceNameOf(pagerduty),
    },
    alarms: {
      enabled: flag("alarms"),
      email: alarmEmail,
      pageDelayMinutes: integer("pageDelayAlarmMinutes", 1, 1440),
    },
    routes,
    accountScope,
    organizations: needsOrganizations
      ? { roleArn, cacheMinutes: integer("accountFactsCacheMinutes", 1, 1440) }
      : undefined,
    tags,
    protectState: flag("protectState"),
  };
  const { delivery } = config;
  checkBatches(delivery, fail);
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

/** A batch the event source mapping can gather, and the function can read through, within one invocation. */
function checkBatches(delivery: DeliveryTuning, fail: Readers["fail"]): void {
  const { batchSize, maximumBatchingWindowSeconds: window, recordConcurrency } = delivery;
  if (batchSize > 10 && window < 1)
    fail(
      "maximumBatchingWindowSeconds",
      window,
      `expected 1 to 300 with batchSize ${batchSize}: Lambda takes more than 10 records a batch only with a batching window`,
    );
  const fits = Math.floor(INVOCATION_PAYLOAD_BYTES / RECORD_BYTES);
  if (batchSize > fits)
    fail(
      "batchSize",
      batchSize,
      `expected at most ${fits}: an invocation carries at most ${INVOCATION_PAYLOAD_BYTES / 1024 / 1024} MB and a record of one finding's Imported event is about ${RECORD_BYTES / 1024} KB, so a larger batch is never filled`,
    );
  const budget = readingBudgetMs(delivery.functionTimeoutSeconds);
  const rounds = Math.floor(budget / RECORD_WORK_MS);
  if (Math.ceil(batchSize / recordConcurrency) > rounds)
    fail(
      "batchSize",
      batchSize,
      `expected at most ${rounds * recordConcurrency} with recordConcurrency ${recordConcurrency} and functionTimeoutSeconds ${delivery.functionTimeoutSeconds}: reading a batch (${RECORD_WORK_MS} ms a record, ${recordConcurrency} at once) must take at most half the ${sendWindowSeconds(delivery.functionTimeoutSeconds)} s send window`,
    );
}

/** PageOnCall and the stack's name when that fits Security Hub's 20 letters and digits, else a hash of it. */
export function defaultCustomActionId(stack: string): string {
  const readable = `PageOnCall${stack.charAt(0).toUpperCase()}${stack.slice(1)}`;
  return /^[A-Za-z0-9]{1,20}$/.test(readable)
    ? readable
    : `PageOnCall${createHash("sha256").update(stack).digest("hex").slice(0, 10)}`;
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

/** alertPer and the group's fields: control first (a group is one failing control), then where. */
function readGrouping({ fail, list, oneOf }: Readers, flag: (name: string) => boolean): Grouping {
  const per = oneOf("alertPer", ["finding", "control"] as const);
  const fields = list("alertGroupFields");
  const bad = fields.find((field) => !(GROUP_FIELDS as readonly string[]).includes(field));
  if (bad !== undefined) fail("alertGroupFields", bad, `expected any of ${GROUP_FIELDS.join(", ")}`);
  if (fields[0] !== "control" || new Set(fields).size !== fields.length)
    fail(
      "alertGroupFields",
      fields,
      `expected control first, then any of ${GROUP_FIELDS.slice(1).join(", ")}, each once (a group is one failing control, and where)`,
    );
  const criticalAlone = flag("criticalAlone");
  return { per, fields: fields.slice(1) as GroupField[], criticalAlone };
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

function readPagerDuty(
  source: ConfigSource,
  { key, fail, text, list, integer }: Readers,
  defaults: { serviceName: string; teamName?: string },
): PagerDutyConfig {
  const userEmails = list("escalationUserEmails");
  const scheduleNames = list("escalationScheduleNames");
  const serviceId = text("existingServiceId");
  const routingKey = source.getSecret("existingRoutingKey");
  // Keys that only mean something when the stack creates its own service; none of them has a default.
  const creationKeys = [
    ["escalationUserEmails", userEmails.length > 0],
    ["escalationScheduleNames", scheduleNames.length > 0],
    ["teamName", text("teamName") !== undefined],
    ["serviceName", text("serviceName") !== undefined],
  ] as const;
  const clashing = (keys: readonly (readonly [string, boolean])[]) =>
    keys.filter(([, set]) => set).map(([name]) => key(name));
  const refuse = (given: string, clashes: string[], why: string): never => {
    throw new ConfigError(
      `config ${key(given)} is set, and so ${clashes.length === 1 ? "is" : "are"} ${clashes.join(", ")}: ${why}; remove ${clashes.length === 1 ? "it" : "them"} or ${key(given)}`,
    );
  };

  if (routingKey !== undefined) {
    const clashes = clashing([
      ...creationKeys,
      ["existingServiceId", serviceId !== undefined],
      ["integrations", text("integrations") !== undefined],
    ]);
    if (clashes.length > 0)
      refuse("existingRoutingKey", clashes, "an existing routing key means nothing is created in PagerDuty");
    return { mode: "existingKey", routingKey };
  }
  // PagerDuty's limit is per routing key: more integrations carry more events a minute (docs/routes.md).
  const integrations = text("integrations") === undefined ? 1 : integer("integrations", 1, MAX_INTEGRATIONS);
  const token = source.pagerdutyToken();
  if (token === undefined) {
    throw new ConfigError(
      `config pagerduty:token is not set (nor PAGERDUTY_TOKEN): creating the PagerDuty integration needs an API token with write access; run pulumi config set --secret pagerduty:token <token>, or set ${key("existingRoutingKey")} to use a routing key as it is`,
    );
  }
  if (serviceId !== undefined) {
    if (!/^P[A-Z0-9]{5,}$/.test(serviceId))
      fail("existingServiceId", serviceId, "expected a PagerDuty service ID such as PABC123");
    const clashes = clashing(creationKeys);
    if (clashes.length > 0)
      refuse(
        "existingServiceId",
        clashes,
        "an existing service keeps its own team, name and escalation policy",
      );
    return { mode: "existingService", token, serviceId, integrations };
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
    teamName: text("teamName") ?? defaults.teamName ?? fail("teamName", null, "expected a team name"),
    serviceName: text("serviceName") ?? defaults.serviceName,
    escalation: {
      userEmails,
      scheduleNames,
      delayMinutes: integer("escalationDelayMinutes", 1, 1440),
      loops: integer("escalationLoops", 0, 9),
    },
    acknowledgementTimeoutSeconds: integer("acknowledgementTimeoutSeconds", 0, 86400),
    integrations,
  };
}

// The keys a route may set. The inherited ones fall back to the stack's own value when the route leaves them out.
const ROUTE_KEYS = [
  "name",
  "match",
  "teamName",
  "serviceName",
  "escalationUserEmails",
  "escalationScheduleNames",
  "escalationDelayMinutes",
  "escalationLoops",
  "acknowledgementTimeoutSeconds",
  "alertGrouping",
  "alertGroupingTimeoutMinutes",
  "existingServiceId",
  "existingRoutingKey",
  "integrations",
  "supportHours",
];
const INHERITED_ROUTE_KEYS = [
  "supportHours",
  "escalationDelayMinutes",
  "escalationLoops",
  "acknowledgementTimeoutSeconds",
  "alertGrouping",
  "alertGroupingTimeoutMinutes",
];
const ROUTE_NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;
const ACCOUNT_ID = /^\d{12}$/;
// The routes reach the function in one environment variable, and Lambda allows 4 KB for all of them together.
const ROUTES_ENVIRONMENT_MAX_BYTES = 2800;

function accountList(name: string, { list, fail }: Readers): string[] {
  const accounts = list(name);
  const bad = accounts.find((account) => !ACCOUNT_ID.test(account));
  if (bad !== undefined) fail(name, bad, "expected 12-digit AWS account IDs");
  return accounts;
}

function readRoutes(source: ConfigSource, readers: Readers, parameterName: string): RouteConfig[] {
  const { fail, text } = readers;
  const raw = text("routes");
  if (raw === undefined) return [];
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = raw;
  }
  if (!Array.isArray(value) || !value.every(isPlainObject)) {
    return fail(
      "routes",
      value,
      "expected a list of routes, each with a name, a match and its PagerDuty side",
    );
  }
  const routes = value.map((route, index) => readRoute(source, readers, route, index, parameterName));
  routes.forEach((route, index) => {
    const first = routes.findIndex((other) => other.name === route.name);
    if (first !== index)
      fail(
        `routes[${index}].name`,
        route.name,
        `routes[${first}] has that name already; each route needs its own`,
      );
    const shadow = routes
      .slice(0, index)
      .findIndex((earlier) => takesEverythingOf(earlier.match, route.match));
    if (shadow !== -1) {
      fail(
        `routes[${index}].match`,
        route.match,
        `can never match: routes[${shadow}] (${routes[shadow]?.name ?? ""}) takes every finding it would; move it before that route or narrow that route`,
      );
    }
  });
  // A route's own support hours ship with it; the stack's do not.
  const stackHours = JSON.stringify(readSupportHours(text("supportHours"), fail) ?? null);
  const shipped = Buffer.byteLength(
    JSON.stringify(
      routes.map(({ name, match, supportHours }) =>
        JSON.stringify(supportHours ?? null) === stackHours ? { name, match } : { name, match, supportHours },
      ),
    ),
  );
  if (shipped > ROUTES_ENVIRONMENT_MAX_BYTES) {
    fail(
      "routes",
      `${shipped} bytes of matches`,
      `the matches must fit in ${ROUTES_ENVIRONMENT_MAX_BYTES} bytes (the function's environment); match long account lists by account tag or organizational unit instead`,
    );
  }
  return routes;
}

function readRoute(
  source: ConfigSource,
  readers: Readers,
  route: Record<string, unknown>,
  index: number,
  parameterName: string,
): RouteConfig {
  const path = `routes[${index}]`;
  const { fail } = readers;
  const unknown = Object.keys(route).find((name) => !ROUTE_KEYS.includes(name));
  if (unknown !== undefined)
    fail(
      `${path}.${unknown}`,
      route[unknown],
      `is not a route setting; expected any of ${ROUTE_KEYS.join(", ")}`,
    );
  const name = route.name;
  if (typeof name !== "string" || !ROUTE_NAME.test(name) || name === DEFAULT_ROUTE) {
    fail(
      `${path}.name`,
      name ?? null,
      `expected a name of lowercase letters, digits and hyphens (up to 40), other than "${DEFAULT_ROUTE}" (the stack's own PagerDuty keys)`,
    );
  }
  const routeName = name as string;
  const match = readMatch(route.match, `${path}.match`, readers);
  const own = (key: string) => key in route;
  const wantsKey = route.existingRoutingKey;
  if (wantsKey !== undefined && wantsKey !== true)
    fail(
      `${path}.existingRoutingKey`,
      wantsKey,
      `expected true, with the key itself set as a secret in ${PROJECT}:routeRoutingKeys.${routeName}`,
    );
  const routeSource: ConfigSource = {
    stack: source.stack,
    get: (key) => {
      if (own(key)) {
        const field = route[key];
        return typeof field === "string" ? field : JSON.stringify(field);
      }
      return INHERITED_ROUTE_KEYS.includes(key) ? source.get(key) : undefined;
    },
    getSecret: (key) =>
      key === "existingRoutingKey" && wantsKey === true
        ? routeRoutingKey(source, routeName, path, readers)
        : undefined,
    pagerdutyToken: () => source.pagerdutyToken(),
  };
  const routeReaders = readersFor(routeSource, (key) =>
    own(key) || !INHERITED_ROUTE_KEYS.includes(key) ? `${PROJECT}:${path}.${key}` : `${PROJECT}:${key}`,
  );
  const pagerduty = readPagerDuty(routeSource, routeReaders, {
    serviceName: `Security Hub findings (${source.stack}, ${routeName})`,
  });
  const routeParameter = `${parameterName}-${routeName}`;
  if (routeParameter.length > 1011)
    fail("parameterName", parameterName, "is too long to name each route's parameter after it");
  return {
    name: routeName,
    match,
    pagerduty,
    parameterName: routeParameter,
    serviceName: serviceNameOf(pagerduty),
    supportHours: readSupportHours(routeReaders.text("supportHours"), routeReaders.fail),
  };
}

/** The route's existing routing key, from the secret map routeRoutingKeys (one entry per route). */
function routeRoutingKey(
  source: ConfigSource,
  name: string,
  path: string,
  { fail }: Readers,
): pulumi.Output<string> {
  const keys = source.getSecret("routeRoutingKeys");
  if (keys === undefined) {
    return fail(
      `${path}.existingRoutingKey`,
      true,
      `set the key as a secret: pulumi config set --secret --path '${PROJECT}:routeRoutingKeys.${name}' <routing key>`,
    );
  }
  return pulumi.secret(
    keys.apply((json) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(json);
      } catch {
        parsed = undefined;
      }
      const routingKey = isPlainObject(parsed) ? parsed[name] : undefined;
      if (typeof routingKey !== "string" || routingKey.trim() === "") {
        throw new ConfigError(
          `config ${PROJECT}:routeRoutingKeys.${name} is not set: ${path} takes its routing key from there (pulumi config set --secret --path '${PROJECT}:routeRoutingKeys.${name}' <routing key>)`,
        );
      }
      return routingKey.trim();
    }),
  );
}

function readMatch(value: unknown, path: string, { fail }: Readers): RouteMatch {
  if (!isPlainObject(value) || Object.keys(value).length === 0) {
    return fail(
      path,
      value ?? null,
      `expected one or more of ${MATCH_FIELDS.join(", ")} (the default route takes what no route matches)`,
    );
  }
  const match: RouteMatch = {};
  for (const [field, raw] of Object.entries(value)) {
    const at = `${path}.${field}`;
    switch (field) {
      case "accountTags":
      case "resourceTags":
        match[field] = readTags(raw, at, fail);
        break;
      case "accounts":
      case "organizationalUnits":
      case "products":
      case "severityLabels":
      case "controls":
      case "regions": {
        const items = typeof raw === "string" ? [raw] : raw;
        if (
          !Array.isArray(items) ||
          items.length === 0 ||
          !items.every((item) => typeof item === "string" && item.trim() !== "")
        )
          return fail(at, raw ?? null, "expected a list of one or more values");
        const values = items.map((item: string) => item.trim());
        const checks: Partial<Record<typeof field, [(item: string) => boolean, string]>> = {
          accounts: [(item) => ACCOUNT_ID.test(item), "expected 12-digit AWS account IDs"],
          severityLabels: [isSeverityLabel, `expected any of ${SEVERITY_LABELS.join(", ")}`],
          regions: [(item) => /^[a-z]{2}(-[a-z]+)+-\d$/.test(item), "expected AWS Regions such as us-east-1"],
        };
        const check = checks[field];
        const bad = check === undefined ? undefined : values.find((item) => !check[0](item));
        if (check !== undefined && bad !== undefined) fail(at, bad, check[1]);
        if (field === "severityLabels") match.severityLabels = values as SeverityLabel[];
        else match[field] = values;
        break;
      }
      default:
        fail(at, raw, `is not a match field; expected any of ${MATCH_FIELDS.join(", ")}`);
    }
  }
  return match;
}

function readTags(raw: unknown, path: string, fail: Readers["fail"]): Record<string, string[]> {
  if (!isPlainObject(raw) || Object.keys(raw).length === 0)
    return fail(
      path,
      raw ?? null,
      "expected tag keys, each with the value or values to match, e.g. { team: payments }",
    );
  const tags: Record<string, string[]> = {};
  for (const [tagKey, tagValue] of Object.entries(raw)) {
    const values = typeof tagValue === "string" ? [tagValue] : tagValue;
    if (
      !Array.isArray(values) ||
      values.length === 0 ||
      !values.every((item) => typeof item === "string" && item.trim() !== "")
    )
      return fail(
        `${path}.${tagKey}`,
        tagValue ?? null,
        "expected the tag's value or a list of values (a key alone would match nothing)",
      );
    tags[tagKey] = values.map((item: string) => item.trim());
  }
  return tags;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
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
    "expected none: this program no longer sets PagerDuty's grouping (the service field is deprecated and the provider installed here sends parameters PagerDuty refuses); set Alert Grouping Settings on the service in PagerDuty (content-based on class and group needs AIOps)",
  );
}
