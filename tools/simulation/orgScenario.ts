import { PROJECT } from "../../config";
import type { OrganizationsReads } from "../../handler/accounts/organizations";
import { DEFAULT_ROUTE, MAX_INTEGRATIONS } from "../../handler/finding/routes";
import { loadStackSettings } from "../stackConfig";
import type { Percentiles } from "./harness";
import { START } from "./harness";
import { pageTimes, runEstate, wrongAtEnd, type EstateRun, type ScanFigures } from "./estateRun";
import {
  OWNER_TAGGED_SHARE,
  UNOWNED,
  churn,
  createEstate,
  createOrganization,
  ownerOf,
  type EstateEntry,
  type EstateFormat,
  type Organization,
} from "./organization";
import { PRICES } from "./prices";
import type { Alert } from "../../standins/pagerdutyModel";
import { table } from "./rescan";

// The organization benchmark: a delegated administrator's stack receiving every member account's findings,
// three hourly scans of the whole estate, and a report per team of what reached whom, how fast, and at what cost.

export interface OrganizationOptions {
  accounts: number;
  findingsPerAccount: number;
  teams: number;
  format: EstateFormat;
  stack: string;
  config: Record<string, string>;
  seed: number;
}

export interface TeamReport {
  team: string;
  accounts: number;
  /** Findings owned by the team that failed within the stack's filter at some point of the run. */
  failingFindings: number;
  criticalFindings: number;
  /** Distinct (control, account) pairs among those findings. */
  failingControlAccountPairs: number;
  /** As PagerDuty's model counts them, on the services the team's findings reached. */
  incidentsOpened: number;
  alertsOpened: number;
  /** Alerts opened on a service that is not the owning team's (0 with one service for everything). */
  misrouted: number;
  maxRequestsPerMinutePerKey: number;
  openAlertsAtEnd: number;
  openAlertsExpected: number;
  /** Seconds from the first scan's start until the team's last page of that scan was accepted. */
  firstScanLastPageSeconds: number;
}

/** Per scan, incidents opened at each urgency: as PagerDuty's model set it, and as the estate says it should be. */
export interface ScanUrgency {
  highUrgencyPages: number;
  lowUrgencyPages: number;
  highUrgencyExpected: number;
  lowUrgencyExpected: number;
}

/** Who was woken, from PagerDuty's model, against the stack's urgency policy applied to the estate. */
export interface UrgencyReport {
  /** Alerts that opened at another urgency than the estate says they should. */
  wrongUrgency: number;
  /** The first scan's low-urgency alerts (the first deploy's backlog, with the default backlogBaselineHours). */
  backlogAlerts: number;
  /** Of those, resolved by the end: their findings passed. */
  backlogResolvedByEnd: number;
  /** Of those, the findings that passed by the end, from the estate: what should have resolved. */
  backlogFixedByEnd: number;
}

export interface MonthlyCost {
  total: number;
  lambdaRequests: number;
  lambdaGbSeconds: number;
  sqsRequests: number;
  dynamodbReads: number;
  dynamodbWrites: number;
  eventBridge: number;
  cloudwatchLogs: number;
}

export interface OrganizationReport {
  scenario: "organization";
  format: EstateFormat;
  stack: string;
  accounts: number;
  findingsPerAccount: number;
  findings: number;
  scans: (Omit<ScanFigures, "logBytes" | "sqsRequests"> & ScanUrgency)[];
  urgency: UrgencyReport;
  timeToPageSeconds: { critical?: Percentiles; newDuringRescan?: Percentiles; firstScanLastPage: number };
  teams: TeamReport[];
  lost: number;
  wrongAlertsAtEnd: number;
  /**
   * Records in the dead-letter queue at the end (moved there past the queue's maxReceiveCount, or sent by the
   * function), and the most times any record handed to the function had been received.
   */
  deadLettered: number;
  mostReceives: number;
  wallSeconds: number;
  peakRssMb: number;
  /** The estate scanned every hour for 30 days, from the rescans' counts and the prices in tools/simulation/prices.ts. */
  monthlyCostUsd: MonthlyCost;
}

export async function runOrganization(options: OrganizationOptions): Promise<OrganizationReport> {
  const shape = {
    accounts: options.accounts,
    findingsPerAccount: options.findingsPerAccount,
    teams: options.teams,
    seed: options.seed,
  };
  const organization = createOrganization(shape);
  const estate = createEstate(organization, shape);
  const serials = new Map<number, number>();
  // A stack with routes is deployed with the organization's own: its example routes name other accounts.
  const routed =
    options.config.routes === undefined &&
    loadStackSettings(options.stack, options.config).values[`${PROJECT}:routes`] !== undefined;
  const run = await runEstate({
    organization,
    estate,
    format: options.format,
    stack: options.stack,
    config: routed
      ? {
          ...options.config,
          routes: JSON.stringify(organizationRoutes(organization, options.findingsPerAccount)),
        }
      : options.config,
    seed: options.seed,
    teamOfRoute: (route) => (route === DEFAULT_ROUTE ? UNOWNED : route),
    // Each team's route is named after it; a finding no team owns takes the default route.
    ...(routed
      ? {
          routeOf: (entry: EstateEntry) => {
            const owner = ownerOf(organization, entry);
            return owner === UNOWNED ? undefined : owner;
          },
        }
      : {}),
    organizations: organizationsOf(organization),
    churn: (entries, scan, random, paged) =>
      churn(entries, scan, random, paged, (draw) => {
        const account = Math.floor(draw() * organization.accounts.length);
        const resource = (serials.get(account) ?? options.findingsPerAccount) + 1;
        serials.set(account, resource);
        const source = entries[Math.floor(draw() * entries.length)] as EstateEntry;
        return { account, control: source.control, resource, region: source.region };
      }),
  });
  const { wrong, lost } = wrongAtEnd(run);
  const teams = teamReports(run, organization);
  const critical = pageTimes(run, (page) => page.severity === "CRITICAL");
  const newDuringRescan = pageTimes(run, (page) => page.newInScan);
  return {
    scenario: "organization",
    format: options.format,
    stack: options.stack,
    accounts: options.accounts,
    findingsPerAccount: options.findingsPerAccount,
    findings: estate.length,
    scans: run.scans.map(({ logBytes: _, sqsRequests: __, ...scan }, index) => ({
      ...scan,
      ...scanUrgency(run, index),
    })),
    urgency: urgencyReport(run),
    timeToPageSeconds: {
      ...(critical === undefined ? {} : { critical }),
      ...(newDuringRescan === undefined ? {} : { newDuringRescan }),
      firstScanLastPage: Math.max(0, ...teams.map((team) => team.firstScanLastPageSeconds)),
    },
    teams,
    lost,
    wrongAlertsAtEnd: wrong,
    deadLettered: run.harness.deployments[0]?.deadLetters.size ?? 0,
    mostReceives: run.harness.deployments[0]?.stats.mostReceives ?? 0,
    wallSeconds: run.wallSeconds,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    monthlyCostUsd: monthlyCost(run.scans),
  };
}

/**
 * docs/routes.md's sizing rule: one Events API v2 integration for every 150,000 findings a route's accounts hold
 * (a rescan's new failures come in proportion, and each key carries about 115 events a minute).
 */
const FINDINGS_PER_INTEGRATION = 150_000;

/**
 * One route per team, as the organization's security engineer would write them: the team that owns resources
 * across accounts by their `owner` tag (first, since a resource's owner wins over its account's team), one team
 * by the list of its accounts, every other by its accounts' `team` tag; untagged accounts take the default route.
 * A team whose accounts hold more findings than one integration carries gets more, by the sizing rule.
 */
export function organizationRoutes(
  organization: Organization,
  findingsPerAccount: number,
): Record<string, unknown>[] {
  const { teams, tagOwner } = organization;
  const accountsOf = (team: string) =>
    organization.accounts.filter((account) => account.team === team).map((account) => account.id);
  const findingsOf = (team: string) =>
    team === tagOwner
      ? organization.accounts.length * findingsPerAccount * OWNER_TAGGED_SHARE
      : accountsOf(team).length * findingsPerAccount;
  const integrationsOf = (team: string) =>
    Math.min(MAX_INTEGRATIONS, Math.max(1, Math.ceil(findingsOf(team) / FINDINGS_PER_INTEGRATION)));
  const listed = teams.length >= 3 && accountsOf(teams[1] ?? "").length > 0 ? teams[1] : undefined;
  const matchOf = (team: string): Record<string, unknown> =>
    team === tagOwner
      ? { resourceTags: { owner: team } }
      : team === listed
        ? { accounts: accountsOf(team) }
        : { accountTags: { team } };
  const ordered = tagOwner === undefined ? teams : [tagOwner, ...teams.filter((team) => team !== tagOwner)];
  return ordered.map((team) => ({
    name: team,
    match: matchOf(team),
    teamName: team,
    escalationScheduleNames: [`${team} on-call`],
    ...(integrationsOf(team) > 1 ? { integrations: integrationsOf(team) } : {}),
  }));
}

/** The organization as AWS Organizations answers for it: each account's `team` tag and its OU under the root. */
function organizationsOf(organization: Organization): OrganizationsReads {
  const accounts = new Map(organization.accounts.map((account) => [account.id, account]));
  const units = new Map(organization.accounts.map((account) => [account.ou.id, account.ou.name]));
  const notFound = () =>
    Object.assign(
      new Error("We can't find a root, OU, account, or policy with the TargetId that you specified."),
      {
        name: "TargetNotFoundException",
      },
    );
  return {
    listTags(id) {
      const account = accounts.get(id);
      if (account === undefined) return Promise.reject(notFound());
      const tags: Record<string, string> = account.team === undefined ? {} : { team: account.team };
      return Promise.resolve({ tags });
    },
    listParents(id) {
      const account = accounts.get(id);
      if (account !== undefined)
        return Promise.resolve({ parents: [{ id: account.ou.id, type: "ORGANIZATIONAL_UNIT" }] });
      if (units.has(id)) return Promise.resolve({ parents: [{ id: "r-org1", type: "ROOT" }] });
      return Promise.reject(notFound());
    },
    describeUnit(id) {
      const name = units.get(id);
      return Promise.resolve(name === undefined ? {} : { name });
    },
  };
}

/** The alerts PagerDuty's model opened from a scan's start until the next scan's. */
function openedInScan(run: EstateRun, index: number): Alert[] {
  const from = START + (run.scans[index]?.startedAtSeconds ?? 0) * 1000;
  const next = run.scans[index + 1];
  const until = next === undefined ? Infinity : START + next.startedAtSeconds * 1000;
  return [...run.alertsByKey.values()]
    .flat()
    .filter((alert) => alert.openedAt >= from && alert.openedAt < until);
}

export function scanUrgency(run: EstateRun, index: number): ScanUrgency {
  const opened = openedInScan(run, index);
  const expected = run.openings.filter((opening) => opening.scan === (run.scans[index]?.scan ?? 0));
  return {
    highUrgencyPages: opened.filter((alert) => alert.urgency === "high").length,
    lowUrgencyPages: opened.filter((alert) => alert.urgency === "low").length,
    highUrgencyExpected: expected.filter((opening) => opening.urgency === "high").length,
    lowUrgencyExpected: expected.filter((opening) => opening.urgency === "low").length,
  };
}

export function urgencyReport(run: EstateRun): UrgencyReport {
  let wrongUrgency = 0;
  for (const opening of run.openings) {
    const alert = (run.alertsByKey.get(opening.key) ?? [])
      .filter((candidate) => candidate.openedAt >= opening.at)
      .sort((a, b) => a.openedAt - b.openedAt)[0];
    // A missing alert is counted as lost, not here.
    if (alert !== undefined && alert.urgency !== opening.urgency) wrongUrgency += 1;
  }
  const backlog = openedInScan(run, 0).filter((alert) => alert.urgency === "low");
  return {
    wrongUrgency,
    backlogAlerts: backlog.length,
    backlogResolvedByEnd: backlog.filter((alert) => alert.status === "resolved").length,
    backlogFixedByEnd: backlog.filter((alert) => !run.expectedOpen.has(alert.dedupKey)).length,
  };
}

/** Each team's figures: the ground truth of what it owns against what PagerDuty's model shows on its services. */
export function teamReports(run: EstateRun, organization: Organization): TeamReport[] {
  const teamOfKey = (key: string): string => {
    const entry = run.alerts.get(key);
    return entry === undefined ? UNOWNED : ownerOf(organization, entry);
  };
  const names = [...organization.teams, UNOWNED];
  const rows = new Map<
    string,
    TeamReport & { pairs: Set<string>; keys: Set<string>; incidents: Set<string> }
  >(
    names.map((team) => [
      team,
      {
        team,
        accounts: organization.accounts.filter((account) => (account.team ?? UNOWNED) === team).length,
        failingFindings: 0,
        criticalFindings: 0,
        failingControlAccountPairs: 0,
        incidentsOpened: 0,
        alertsOpened: 0,
        misrouted: 0,
        maxRequestsPerMinutePerKey: 0,
        openAlertsAtEnd: 0,
        openAlertsExpected: 0,
        firstScanLastPageSeconds: 0,
        pairs: new Set(),
        keys: new Set(),
        incidents: new Set(),
      },
    ]),
  );
  const row = (team: string) =>
    rows.get(team) ?? (rows.get(UNOWNED) as NonNullable<ReturnType<typeof rows.get>>);
  // Ever failing within the stack's filter during the run: what could have paged.
  for (const [key, entry] of run.paged) {
    const team = row(ownerOf(organization, entry));
    team.failingFindings += 1;
    if (run.everCritical.has(key)) team.criticalFindings += 1;
    team.pairs.add(`${entry.control}/${entry.account}`);
  }
  for (const key of run.expectedOpen.keys()) row(teamOfKey(key)).openAlertsExpected += 1;
  const perKeyMax = requestsPerMinuteByKey(run);
  const firstScanEnd = START + (run.scans[1]?.startedAtSeconds ?? Infinity) * 1000;
  for (const [key, alerts] of run.alertsByKey) {
    const team = row(teamOfKey(key));
    for (const alert of alerts) {
      team.alertsOpened += 1;
      team.incidents.add(alert.incidentId);
      team.keys.add(alert.routingKey);
      if (alert.status !== "resolved") team.openAlertsAtEnd += 1;
      if (alert.openedAt < firstScanEnd)
        team.firstScanLastPageSeconds = Math.max(
          team.firstScanLastPageSeconds,
          (alert.openedAt - START) / 1000,
        );
      const service = run.serviceTeamOf(alert.routingKey);
      if (service !== undefined && service !== team.team) team.misrouted += 1;
    }
  }
  return [...rows.values()].map(({ pairs, keys, incidents, ...report }) => ({
    ...report,
    failingControlAccountPairs: pairs.size,
    incidentsOpened: incidents.size,
    maxRequestsPerMinutePerKey: Math.max(0, ...[...keys].map((key) => perKeyMax.get(key) ?? 0)),
    firstScanLastPageSeconds: Math.round(report.firstScanLastPageSeconds * 10) / 10,
  }));
}

/** The most requests each routing key made in any 60 seconds. */
function requestsPerMinuteByKey(run: EstateRun): Map<string, number> {
  const byKey = new Map<string, number[]>();
  for (const sent of run.harness.sent) {
    const times = byKey.get(sent.routingKey) ?? [];
    times.push(sent.at);
    byKey.set(sent.routingKey, times);
  }
  const most = new Map<string, number>();
  for (const [key, times] of byKey) {
    let best = 0;
    for (let last = 0, first = 0; last < times.length; last += 1) {
      while ((times[last] ?? 0) - (times[first] ?? 0) >= 60_000) first += 1;
      best = Math.max(best, last - first + 1);
    }
    most.set(key, best);
  }
  return most;
}

const HOURS_A_MONTH = 720;

/** An hourly rescan's counts (the mean of the rescans; the first scan happens once) for 30 days. */
export function monthlyCost(scans: ScanFigures[]): MonthlyCost {
  const rescans = scans.length > 1 ? scans.slice(1) : scans;
  const mean = (pick: (scan: ScanFigures) => number) =>
    rescans.reduce((sum, scan) => sum + pick(scan), 0) / Math.max(1, rescans.length);
  const perMillion = (count: number, usd: number) => (count * HOURS_A_MONTH * usd) / 1_000_000;
  const cents = (usd: number) => Math.round(usd * 100) / 100;
  const parts = {
    lambdaRequests: cents(
      perMillion(
        mean((scan) => scan.functionInvocations),
        PRICES.lambdaRequests.usd,
      ),
    ),
    lambdaGbSeconds: cents(
      mean((scan) => scan.functionGbSeconds) * HOURS_A_MONTH * PRICES.lambdaArmGbSecond.usd,
    ),
    sqsRequests: cents(
      perMillion(
        mean((scan) => scan.sqsRequests),
        PRICES.sqsStandardRequests.usd,
      ),
    ),
    dynamodbReads: cents(
      perMillion(
        mean((scan) => scan.dynamodbReads),
        PRICES.dynamodbReadRequestUnits.usd,
      ),
    ),
    dynamodbWrites: cents(
      perMillion(
        mean((scan) => scan.dynamodbWrites),
        PRICES.dynamodbWriteRequestUnits.usd,
      ),
    ),
    eventBridge: 0,
    cloudwatchLogs: cents(
      ((mean((scan) => scan.logBytes) * HOURS_A_MONTH) / 1e9) * PRICES.cloudWatchLogsIngestion.usd,
    ),
  };
  return { total: cents(Object.values(parts).reduce((sum, part) => sum + part, 0)), ...parts };
}

export function formatOrganization(report: OrganizationReport): string {
  const lines = [
    `organization of ${report.accounts} accounts × ${report.findingsPerAccount} findings (${report.format}), stack ${report.stack}, three hourly scans`,
    ...table(
      [
        "scan",
        "imported",
        "admitted",
        "processed after s",
        "PD requests",
        "state changes",
        "DDB reads",
        "DDB writes",
        "invocations",
        "GB-s",
        "high (expected)",
        "low (expected)",
      ],
      report.scans.map((scan) =>
        [
          scan.scan,
          scan.imported,
          scan.admitted,
          scan.processedAfterSeconds,
          scan.pagerdutyRequests,
          scan.stateChanges,
          scan.dynamodbReads,
          scan.dynamodbWrites,
          scan.functionInvocations,
          scan.functionGbSeconds,
          `${scan.highUrgencyPages} (${scan.highUrgencyExpected})`,
          `${scan.lowUrgencyPages} (${scan.lowUrgencyExpected})`,
        ].map(String),
      ),
    ),
    ...table(
      [
        "team",
        "accounts",
        "failing",
        "critical",
        "control×account",
        "incidents",
        "misrouted",
        "max/min/key",
        "open (expected)",
        "last first-scan page s",
      ],
      report.teams.map((team) => [
        team.team,
        ...[
          team.accounts,
          team.failingFindings,
          team.criticalFindings,
          team.failingControlAccountPairs,
          team.incidentsOpened,
          team.misrouted,
          team.maxRequestsPerMinutePerKey,
        ].map(String),
        `${team.openAlertsAtEnd} (${team.openAlertsExpected})`,
        String(team.firstScanLastPageSeconds),
      ]),
    ),
  ];
  const times = report.timeToPageSeconds;
  const describe = (figures: Percentiles | undefined) =>
    figures === undefined
      ? "none"
      : `p50 ${figures.p50} s, p99 ${figures.p99} s, max ${figures.max} s (${figures.count})`;
  lines.push(
    `time to page: CRITICAL ${describe(times.critical)}; new during rescans ${describe(times.newDuringRescan)}; first scan's last page after ${times.firstScanLastPage} s`,
    `lost ${report.lost}, wrong alerts at the end ${report.wrongAlertsAtEnd}, wrong urgency ${report.urgency.wrongUrgency}; dead-lettered ${report.deadLettered}, a record received at most ${report.mostReceives} times`,
    `first scan's low-urgency alerts (the backlog) ${report.urgency.backlogAlerts}: ${report.urgency.backlogResolvedByEnd} resolved by the end, of ${report.urgency.backlogFixedByEnd} whose findings passed`,
    `monthly cost (hourly scans, 30 days): $${report.monthlyCostUsd.total} (${Object.entries(
      report.monthlyCostUsd,
    )
      .filter(([name]) => name !== "total")
      .map(([name, usd]) => `${name} $${usd}`)
      .join(", ")})`,
    `wall ${report.wallSeconds} s, peak RSS ${report.peakRssMb} MB`,
  );
  return lines.join("\n");
}
