import { isSeverityLabel, type SeverityLabel } from "./finding/model";
import type { FindingFilter } from "./finding/filter";
import { EVENTS_URLS, type PagerDutyRegion } from "./delivery/pagerduty";
import { MAX_INTEGRATIONS, type AccountScope, type RouteMatch } from "./finding/routes";
import type { SupportHours, UrgencyPolicy } from "./finding/urgency";
import { GROUP_FIELDS, type GroupField, type Grouping } from "./finding/control";

/** A route as the function knows it: what it matches, where its routing key is, the service it pages. */
export interface RouteSetting {
  name: string;
  match: RouteMatch;
  /** Its routing key's SSM parameter, which also names its send schedule. */
  parameterName: string;
  /** Its service's Events API v2 integrations, each with its key (integrationParameterNames); absent: one. */
  integrations?: number;
  serviceName: string;
  /** The route's own support hours (null: none, PagerDuty's severity-based rule); absent: the stack's. */
  supportHours?: SupportHours | null;
}

/** Everything the deployed function needs to know, none of it secret: the key itself stays in SSM. */
export interface HandlerSettings {
  /** The stack the function belongs to: the dimension of its metrics. */
  stack: string;
  parameterName: string;
  pagerDutyRegion: PagerDutyRegion;
  /** Replaces the regional Events API URL (local stand-ins). */
  eventsUrl?: string;
  routingKeyTtlSeconds: number;
  requestTimeoutSeconds: number;
  deadLetterQueueUrl?: string;
  /** DynamoDB table holding the shared send schedule; without it each container paces alone. */
  stateTable?: string;
  /** Names the routing key's schedule; every sender with the same key must use the same id. */
  pacingId: string;
  /** The stack's service's Events API v2 integrations, each with its key (integrationParameterNames); absent: one. */
  integrations?: number;
  eventsPerMinute: number;
  /** Records of a batch worked on at once (their state reads and writes overlap; sends keep each key's schedule). */
  recordConcurrency?: number;
  filter: FindingFilter;
  /** An unchanged open alert is sent again after this many hours, healing drift (0: never). */
  alertRefreshHours: number;
  /**
   * Until this moment (epoch ms), a resolve is sent for a finding without alert state, as the versions before alert
   * state did: it closes alerts those versions opened. Absent: never.
   */
  resolveUntrackedUntil?: number;
  /** Pages are written back to Security Hub (a note, Workflow NOTIFIED); custom-action pages are taken. */
  securityHubSync: boolean;
  /** The PagerDuty service, as notes in Security Hub name it. */
  serviceName: string;
  /** Routes before the default one (parameterName, pacingId, serviceName), in order; absent: none. */
  routes?: RouteSetting[];
  /** Accounts paged or left to their own stack; absent: every account. */
  accountScope?: AccountScope;
  /** How account tags and parents are read from AWS Organizations; absent: they are never read. */
  organizations?: { roleArn?: string; cacheMinutes: number };
  /** Who is woken and when; absent: PagerDuty's severity-based urgency at every hour, no backlog. */
  urgency?: UrgencyPolicy;
  /** One alert per finding, or per failing control (and the group's other fields); absent: per finding. */
  grouping?: Grouping;
}

/** Kept free at the end of an invocation to dead-letter or hand back what is left. */
export const DEADLINE_MARGIN_MS = 3_000;

export const HANDLER_DEFAULTS = {
  pagerDutyRegion: "us",
  routingKeyTtlSeconds: 300,
  requestTimeoutSeconds: 8,
  // Below PagerDuty's ~120 a minute so that network jitter cannot put 121 events in one rolling minute.
  eventsPerMinute: 115,
  alertRefreshHours: 24,
  recordConcurrency: 10,
} as const;

// The environment variable of each setting, the one place that knows the names.
const NAMES = {
  stack: "STACK_NAME",
  parameterName: "ROUTING_KEY_PARAMETER",
  pagerDutyRegion: "PAGERDUTY_REGION",
  eventsUrl: "PAGERDUTY_EVENTS_URL",
  routingKeyTtlSeconds: "ROUTING_KEY_TTL_SECONDS",
  requestTimeoutSeconds: "PAGERDUTY_TIMEOUT_SECONDS",
  deadLetterQueueUrl: "DEAD_LETTER_QUEUE_URL",
  stateTable: "STATE_TABLE",
  pacingId: "PACING_ID",
  integrations: "PAGERDUTY_INTEGRATIONS",
  eventsPerMinute: "PAGERDUTY_EVENTS_PER_MINUTE",
  recordConcurrency: "RECORD_CONCURRENCY",
  severityLabels: "PAGE_SEVERITY_LABELS",
  products: "PAGE_PRODUCTS",
  workflowStatuses: "PAGE_WORKFLOW_STATUSES",
  activeOnly: "PAGE_ACTIVE_ONLY",
  alertRefreshHours: "ALERT_REFRESH_HOURS",
  securityHubSync: "SECURITY_HUB_SYNC",
  serviceName: "PAGERDUTY_SERVICE_NAME",
  resolveUntrackedUntil: "RESOLVE_UNTRACKED_UNTIL",
  routes: "ROUTES",
  includeAccounts: "INCLUDE_ACCOUNTS",
  excludeAccounts: "EXCLUDE_ACCOUNTS",
  organizationsRoleArn: "ORGANIZATIONS_ROLE_ARN",
  accountFactsCacheMinutes: "ACCOUNT_FACTS_CACHE_MINUTES",
  supportHours: "SUPPORT_HOURS",
  urgentAtAnyHour: "URGENT_AT_ANY_HOUR",
  backlogUntil: "BACKLOG_UNTIL",
  alertPer: "ALERT_PER",
  alertGroupFields: "ALERT_GROUP_FIELDS",
  criticalAlone: "CRITICAL_ALONE",
} as const;

export function settingsToEnvironment(settings: HandlerSettings): Record<string, string> {
  const environment: Record<string, string> = {
    [NAMES.stack]: settings.stack,
    [NAMES.parameterName]: settings.parameterName,
    [NAMES.pagerDutyRegion]: settings.pagerDutyRegion,
    [NAMES.routingKeyTtlSeconds]: String(settings.routingKeyTtlSeconds),
    [NAMES.requestTimeoutSeconds]: String(settings.requestTimeoutSeconds),
    [NAMES.pacingId]: settings.pacingId,
    [NAMES.eventsPerMinute]: String(settings.eventsPerMinute),
    [NAMES.severityLabels]: settings.filter.severityLabels.join(","),
    [NAMES.products]: JSON.stringify(settings.filter.products),
    [NAMES.workflowStatuses]: settings.filter.workflowStatuses.join(","),
    [NAMES.activeOnly]: String(settings.filter.activeOnly),
    [NAMES.alertRefreshHours]: String(settings.alertRefreshHours),
    [NAMES.securityHubSync]: String(settings.securityHubSync),
    [NAMES.serviceName]: settings.serviceName,
  };
  if (settings.recordConcurrency !== undefined)
    environment[NAMES.recordConcurrency] = String(settings.recordConcurrency);
  if (settings.integrations !== undefined && settings.integrations > 1)
    environment[NAMES.integrations] = String(settings.integrations);
  if (settings.eventsUrl !== undefined) environment[NAMES.eventsUrl] = settings.eventsUrl;
  if (settings.deadLetterQueueUrl !== undefined)
    environment[NAMES.deadLetterQueueUrl] = settings.deadLetterQueueUrl;
  if (settings.stateTable !== undefined) environment[NAMES.stateTable] = settings.stateTable;
  if (settings.resolveUntrackedUntil !== undefined)
    environment[NAMES.resolveUntrackedUntil] = new Date(settings.resolveUntrackedUntil).toISOString();
  if (settings.routes !== undefined && settings.routes.length > 0)
    environment[NAMES.routes] = JSON.stringify(settings.routes);
  if (settings.accountScope !== undefined) {
    if (settings.accountScope.include.length > 0)
      environment[NAMES.includeAccounts] = settings.accountScope.include.join(",");
    if (settings.accountScope.exclude.length > 0)
      environment[NAMES.excludeAccounts] = settings.accountScope.exclude.join(",");
  }
  if (settings.organizations !== undefined) {
    environment[NAMES.accountFactsCacheMinutes] = String(settings.organizations.cacheMinutes);
    if (settings.organizations.roleArn !== undefined)
      environment[NAMES.organizationsRoleArn] = settings.organizations.roleArn;
  }
  const urgency = settings.urgency;
  if (urgency !== undefined) {
    environment[NAMES.urgentAtAnyHour] = urgency.urgentAtAnyHour.join(",");
    if (urgency.supportHours !== undefined)
      environment[NAMES.supportHours] = JSON.stringify(urgency.supportHours);
    if (urgency.backlogUntil !== undefined)
      environment[NAMES.backlogUntil] = new Date(urgency.backlogUntil).toISOString();
  }
  if (settings.grouping !== undefined && settings.grouping.per === "control") {
    environment[NAMES.alertPer] = "control";
    environment[NAMES.alertGroupFields] = settings.grouping.fields.join(",");
    environment[NAMES.criticalAlone] = String(settings.grouping.criticalAlone);
  }
  return environment;
}

/** Reads the settings back; a wrong value is an error naming the variable, its value and what is allowed. */
export function settingsFromEnvironment(env: Record<string, string | undefined>): HandlerSettings {
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === "" ? undefined : value;
  };
  const required = (name: string): string => {
    const value = read(name);
    if (value === undefined) throw new Error(`environment variable ${name} is not set`);
    return value;
  };
  const positive = (name: string, fallback: number): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) {
      throw new Error(`environment variable ${name} is "${raw}": expected a positive number`);
    }
    return value;
  };
  const hours = read(NAMES.alertRefreshHours) ?? String(HANDLER_DEFAULTS.alertRefreshHours);
  if (!/^\d+(\.\d+)?$/.test(hours)) {
    throw new Error(
      `environment variable ${NAMES.alertRefreshHours} is "${hours}": expected hours, 0 or more`,
    );
  }
  const untrackedUntil = read(NAMES.resolveUntrackedUntil);
  if (untrackedUntil !== undefined && Number.isNaN(Date.parse(untrackedUntil))) {
    throw new Error(
      `environment variable ${NAMES.resolveUntrackedUntil} is "${untrackedUntil}": expected an ISO 8601 date`,
    );
  }
  const list = (name: string): string[] =>
    (read(name) ?? "")
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item !== "");

  const region = read(NAMES.pagerDutyRegion) ?? HANDLER_DEFAULTS.pagerDutyRegion;
  if (!(region in EVENTS_URLS)) {
    throw new Error(`environment variable ${NAMES.pagerDutyRegion} is "${region}": expected "us" or "eu"`);
  }
  const severities = (name: string, atLeastOne: boolean): SeverityLabel[] => {
    const values = list(name);
    if (values.some((label) => !isSeverityLabel(label)) || (atLeastOne && values.length === 0)) {
      throw new Error(
        `environment variable ${name} is "${read(name) ?? ""}": expected a comma-separated list of INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL`,
      );
    }
    return values as SeverityLabel[];
  };
  const labels = severities(NAMES.severityLabels, true);
  const productsText = read(NAMES.products) ?? "[]";
  let products: unknown;
  try {
    products = JSON.parse(productsText);
  } catch {
    products = undefined;
  }
  if (!Array.isArray(products) || !products.every((product) => typeof product === "string")) {
    throw new Error(
      `environment variable ${NAMES.products} is "${productsText}": expected a JSON array of product names`,
    );
  }
  const flag = (name: string): boolean => {
    const value = read(name) ?? "false";
    if (value !== "true" && value !== "false")
      throw new Error(`environment variable ${name} is "${value}": expected true or false`);
    return value === "true";
  };

  const parameterName = required(NAMES.parameterName);
  const settings: HandlerSettings = {
    stack: read(NAMES.stack) ?? "unknown",
    parameterName,
    pagerDutyRegion: region as PagerDutyRegion,
    routingKeyTtlSeconds: positive(NAMES.routingKeyTtlSeconds, HANDLER_DEFAULTS.routingKeyTtlSeconds),
    requestTimeoutSeconds: positive(NAMES.requestTimeoutSeconds, HANDLER_DEFAULTS.requestTimeoutSeconds),
    pacingId: read(NAMES.pacingId) ?? parameterName,
    eventsPerMinute: positive(NAMES.eventsPerMinute, HANDLER_DEFAULTS.eventsPerMinute),
    recordConcurrency: Math.floor(positive(NAMES.recordConcurrency, HANDLER_DEFAULTS.recordConcurrency)),
    filter: {
      severityLabels: labels,
      products: products as string[],
      workflowStatuses: list(NAMES.workflowStatuses),
      activeOnly: flag(NAMES.activeOnly),
    },
    alertRefreshHours: Number(hours),
    securityHubSync: flag(NAMES.securityHubSync),
    serviceName: read(NAMES.serviceName) ?? "the stack's PagerDuty service",
  };
  if (untrackedUntil !== undefined) settings.resolveUntrackedUntil = Date.parse(untrackedUntil);
  const integrations = read(NAMES.integrations);
  if (integrations !== undefined) settings.integrations = integrationsOf(NAMES.integrations, integrations);
  const routes = read(NAMES.routes);
  if (routes !== undefined) settings.routes = routeSettingsOf(routes);
  const include = list(NAMES.includeAccounts);
  const exclude = list(NAMES.excludeAccounts);
  if (include.length > 0 || exclude.length > 0) settings.accountScope = { include, exclude };
  if (read(NAMES.accountFactsCacheMinutes) !== undefined) {
    const roleArn = read(NAMES.organizationsRoleArn);
    settings.organizations = {
      cacheMinutes: positive(NAMES.accountFactsCacheMinutes, 15),
      ...(roleArn === undefined ? {} : { roleArn }),
    };
  }
  if (
    [NAMES.urgentAtAnyHour, NAMES.supportHours, NAMES.backlogUntil].some((name) => read(name) !== undefined)
  ) {
    const backlogText = read(NAMES.backlogUntil);
    const backlogUntil = backlogText === undefined ? undefined : Date.parse(backlogText);
    if (backlogUntil !== undefined && Number.isNaN(backlogUntil))
      throw new Error(
        `environment variable ${NAMES.backlogUntil} is "${backlogText}": expected an ISO 8601 date`,
      );
    settings.urgency = {
      supportHours: supportHoursOf(read(NAMES.supportHours)),
      urgentAtAnyHour: severities(NAMES.urgentAtAnyHour, false),
      backlogUntil,
    };
  }
  const alertPer = read(NAMES.alertPer);
  if (alertPer !== undefined) {
    if (alertPer !== "control" && alertPer !== "finding")
      throw new Error(`environment variable ${NAMES.alertPer} is "${alertPer}": expected finding or control`);
    const fields = list(NAMES.alertGroupFields);
    if (fields.some((field) => !(GROUP_FIELDS as readonly string[]).includes(field)))
      throw new Error(
        `environment variable ${NAMES.alertGroupFields} is "${fields.join(",")}": expected any of ${GROUP_FIELDS.join(", ")}`,
      );
    settings.grouping = {
      per: alertPer,
      fields: fields as GroupField[],
      criticalAlone: read(NAMES.criticalAlone) !== "false",
    };
  }
  const eventsUrl = read(NAMES.eventsUrl);
  const deadLetterQueueUrl = read(NAMES.deadLetterQueueUrl);
  const stateTable = read(NAMES.stateTable);
  if (eventsUrl !== undefined) settings.eventsUrl = eventsUrl;
  if (deadLetterQueueUrl !== undefined) settings.deadLetterQueueUrl = deadLetterQueueUrl;
  if (stateTable !== undefined) settings.stateTable = stateTable;
  return settings;
}

function isIntegrations(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= MAX_INTEGRATIONS;
}

function integrationsOf(name: string, text: string): number {
  const value = Number(text);
  if (!isIntegrations(value))
    throw new Error(
      `environment variable ${name} is "${text}": expected a whole number from 1 to ${MAX_INTEGRATIONS}`,
    );
  return value;
}

/** The routes as config.ts validated them; only their shape is checked again here. */
function routeSettingsOf(text: string): RouteSetting[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const fine =
    Array.isArray(value) &&
    value.every(
      (route: Record<string, unknown>) =>
        typeof route === "object" &&
        typeof route.name === "string" &&
        typeof route.parameterName === "string" &&
        typeof route.serviceName === "string" &&
        typeof route.match === "object" &&
        route.match !== null &&
        (route.integrations === undefined || isIntegrations(route.integrations)),
    );
  if (!fine) {
    throw new Error(
      `environment variable ${NAMES.routes} is "${text}": expected a JSON list of routes, each with name, match, parameterName and serviceName (and integrations, 1 to ${MAX_INTEGRATIONS})`,
    );
  }
  return value as RouteSetting[];
}

function supportHoursOf(text: string | undefined): SupportHours | undefined {
  if (text === undefined) return undefined;
  const fail = () =>
    new Error(
      `environment variable ${NAMES.supportHours} is "${text}": expected {"timeZone", "days", "startMinute", "endMinute"}`,
    );
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw fail();
  }
  const hours = value as Partial<SupportHours>;
  if (
    typeof hours.timeZone !== "string" ||
    !Array.isArray(hours.days) ||
    !hours.days.every((day) => Number.isInteger(day) && day >= 1 && day <= 7) ||
    typeof hours.startMinute !== "number" ||
    typeof hours.endMinute !== "number"
  )
    throw fail();
  return {
    timeZone: hours.timeZone,
    days: hours.days,
    startMinute: hours.startMinute,
    endMinute: hours.endMinute,
  };
}
