import { decide as filterDecision } from "../../handler/finding/filter";
import { IMPORTED, IMPORTED_V2 } from "../../handler/finding/events";
import { ALERT_PER_FINDING, groupOf, higherSeverity } from "../../handler/finding/control";
import { dedupKeyOf } from "../../handler/finding/mapping";
import { SEVERITY_LABELS, type SeverityLabel } from "../../handler/finding/model";
import { readFinding } from "../../handler/finding/read";
import { urgencyOf, type UrgencyPolicy } from "../../handler/finding/urgency";
import type { Lane } from "../../infra/eventPatterns";
import type { Alert } from "../../standins/pagerdutyModel";
import { securityHubEventText } from "./findings";
import {
  START,
  VIRTUAL_HORIZON_MS,
  createHarness,
  percentiles,
  type Harness,
  type HarnessOptions,
  type Percentiles,
} from "./harness";
import {
  FindingFactory,
  type EstateEntry,
  type EstateFormat,
  type ImportState,
  type Organization,
} from "./organization";
import { seededRandom } from "./virtualTime";

// Three scans of an estate through the deployed path: every finding re-imported on every scan, in a random order
// over five minutes, the estate changing a little between scans, and the whole of it measured: what reached
// PagerDuty and when, what the state table and the function cost, and what is open at the end against what the
// estate says should be. Messages carry what their finding was at import and are written out only when a function
// reads them, so that an organization's millions of findings never sit in memory as text.

const MINUTE = 60_000;
export const SCAN_INTERVAL_MS = 60 * MINUTE;
/** A scan's findings are imported over about five minutes. */
export const SCAN_MS = 5 * MINUTE;
export const SCANS = 3;
/** Without an urgency policy, the event's severity decides, as PagerDuty's severity-based rule does. */
const SEVERITY_BASED: UrgencyPolicy = {
  supportHours: undefined,
  urgentAtAnyHour: [],
  backlogUntil: undefined,
};

export interface EstateRunOptions {
  organization: Organization;
  estate: EstateEntry[];
  format: EstateFormat;
  stack: string;
  config: Record<string, string>;
  seed: number;
  /** The team whose service each route pages, and AWS Organizations as the routes read it. */
  teamOfRoute?: HarnessOptions["teamOfRoute"];
  organizations?: HarnessOptions["organizations"];
  /** The route a finding takes (absent: the default route), which its group is within. */
  routeOf?: (entry: EstateEntry) => string | undefined;
  /** Changes the estate before a rescan (fixes, regressions, severity changes, new findings). */
  churn(estate: EstateEntry[], scan: number, random: () => number, paged: SeverityLabel[]): void;
}

export interface ScanFigures {
  scan: number;
  startedAtSeconds: number;
  /** Seconds from the scan's start until every record of it was processed. */
  processedAfterSeconds: number;
  imported: number;
  /** Records the stack's rules put into a lane (the rest never reach the function). */
  admitted: number;
  pagerdutyRequests: number;
  triggersSent: number;
  resolvesSent: number;
  /** Alerts that should open, change or close in this scan: what PagerDuty needs to hear. */
  stateChanges: number;
  dynamodbReads: number;
  dynamodbWrites: number;
  functionInvocations: number;
  functionGbSeconds: number;
  sqsRequests: number;
  logBytes: number;
}

export interface EstateRun {
  harness: Harness;
  factory: FindingFactory;
  scans: ScanFigures[];
  /** Every entry that should have paged at some point (within the stack's filter), by its own dedup key. */
  paged: Map<string, EstateEntry>;
  /**
   * Every alert that should have opened at some point, by its dedup key, with one of its findings: the finding's
   * own with alertPer: finding, its group's (one failing control and account) with alertPer: control.
   */
  alerts: Map<string, EstateEntry>;
  /** Dedup keys that paged at CRITICAL at some point. */
  everCritical: Set<string>;
  /** The team whose service a routing key belongs to; undefined for a service that takes everyone's findings. */
  serviceTeamOf(routingKey: string): string | undefined;
  /** Alert keys that should be open at the end, with their severity (a group's: the highest it paged with). */
  expectedOpen: Map<string, SeverityLabel>;
  /**
   * Every alert the estate says should open, when its finding was imported, and the urgency it should open at: the
   * stack's urgency policy applied to what the estate knows (the severity, the import time, whether it paged in an
   * earlier scan), not to what the function decided.
   */
  openings: { key: string; at: number; scan: number; urgency: "high" | "low" }[];
  /** When each finding that needed a new page was imported: new in a rescan, or CRITICAL. */
  newPages: { key: string; at: number; scan: number; severity: SeverityLabel; newInScan: boolean }[];
  alertsByKey: Map<string, Alert[]>;
  timeToPage(key: string, at: number): number | undefined;
  wallSeconds: number;
}

/** The stack settings a format's findings need: the new Security Hub's control findings come from Security Hub. */
export function formatConfig(format: EstateFormat, config: Record<string, string>): Record<string, string> {
  if (format === "asff") return config;
  return {
    findingFormats: format === "both" ? "both" : "ocsf",
    allProducts: "true",
    products: "[]",
    ...config,
  };
}

/** How the estate decides which alert a finding pages, and at what urgency. */
export interface AlertRules {
  pages(entry: EstateEntry): boolean;
  /** The finding's own alert. */
  keyOf(entry: EstateEntry): string;
  /** The alert its trigger goes to: its own, or its group's. */
  alertKeyOf(entry: EstateEntry): string;
  policy: UrgencyPolicy;
}

/**
 * What PagerDuty should hear, walked in the order the findings are imported, as the function learns of them: each
 * alert opens with its first failing member, changes when its severity does (a group's only rises while it is
 * open: its page's highest), and closes with its last. A group whose members all passed before a new one failed
 * closed and opens again, as it should: nothing could know of the new one before it was imported.
 */
export function expectedAlerts(rules: AlertRules) {
  const open = new Map<string, { members: Set<EstateEntry>; severity: SeverityLabel }>();
  const memberOf = new Map<EstateEntry, string>();
  // Alerts that opened before: opening again is a regression, never backlog.
  const openedBefore = new Set<string>();
  const openings: EstateRun["openings"] = [];
  const newPages: EstateRun["newPages"] = [];
  let changes = 0;
  return {
    openings,
    newPages,
    /** The import of `entry` in its current state, at `now`, in scan `scan`. */
    imported(entry: EstateEntry, now: number, scan: number): void {
      const was = memberOf.get(entry);
      const key = rules.pages(entry) ? rules.alertKeyOf(entry) : undefined;
      const left = was === undefined || was === key ? undefined : open.get(was);
      if (was !== undefined && left !== undefined) {
        left.members.delete(entry);
        memberOf.delete(entry);
        if (left.members.size === 0) {
          open.delete(was);
          changes += 1;
        }
      }
      if (key === undefined) return;
      memberOf.set(entry, key);
      const alert = open.get(key);
      if (alert !== undefined) {
        alert.members.add(entry);
        const severity =
          key === rules.keyOf(entry) ? entry.severity : higherSeverity(alert.severity, entry.severity);
        if (severity !== alert.severity) changes += 1;
        alert.severity = severity;
        return;
      }
      open.set(key, { members: new Set([entry]), severity: entry.severity });
      changes += 1;
      const { urgency } = urgencyOf(
        { label: entry.severity, byHand: false, regression: openedBefore.has(key), importedAt: now },
        now,
        rules.policy,
      );
      openedBefore.add(key);
      openings.push({ key, at: now, scan, urgency });
      if (entry.newInScan === scan || entry.severity === "CRITICAL")
        newPages.push({ key, at: now, scan, severity: entry.severity, newInScan: entry.newInScan === scan });
    },
    /** The alerts' state changes since the last call. */
    takeChanges(): number {
      const counted = changes;
      changes = 0;
      return counted;
    },
    /** The alerts open now, with their severity. */
    expectedOpen(): Map<string, SeverityLabel> {
      return new Map([...open].map(([key, alert]) => [key, alert.severity]));
    },
  };
}

export async function runEstate(options: EstateRunOptions): Promise<EstateRun> {
  const wallStart = Date.now();
  const { organization, estate, format } = options;
  const harness = createHarness({
    stack: options.stack,
    config: formatConfig(format, options.config),
    keys: 1,
    seed: options.seed,
    ...(options.teamOfRoute === undefined ? {} : { teamOfRoute: options.teamOfRoute }),
    ...(options.organizations === undefined ? {} : { organizations: options.organizations }),
  });
  const { time, config } = harness;
  const deployment = harness.deployments[0];
  if (deployment === undefined) throw new Error("no deployment");
  const factory = new FindingFactory(organization, format);
  const random = seededRandom(options.seed + 1);
  const labels = config.filter.severityLabels;
  const feeds = format === "both" ? (["asff", "ocsf"] as const) : ([format] as const);

  // Whether the stack's filter takes the estate's product at all, asked of the function's own filter.
  const sample = factory.materialize(estate[0] as EstateEntry, {
    at: START,
    failing: true,
    severity: "HIGH",
    notified: false,
  });
  const sampleReading = readFinding(sample.ocsf ?? sample.asff);
  const productPages =
    sampleReading.ok &&
    filterDecision(sampleReading.finding, { ...config.filter, severityLabels: [...SEVERITY_LABELS] })
      .action !== "skip";
  const pages = (entry: EstateEntry) => productPages && entry.failing && labels.includes(entry.severity);

  // Only findings that page get a key: hashing every passed finding of an organization would cost more than it tells.
  const keys = new Map<EstateEntry, string>();
  const keyOf = (entry: EstateEntry): string => {
    let key = keys.get(entry);
    if (key === undefined) {
      const { productArn, id } = factory.identity(entry);
      key = dedupKeyOf(productArn, id);
      keys.set(entry, key);
    }
    return key;
  };

  // The alert a paging finding's trigger goes to: its own, or its group's, asked of the function's own grouping
  // once per control, account, Region and whether CRITICAL (a group is at most that fine in the estate).
  const grouping = deployment.settings.grouping ?? ALERT_PER_FINDING;
  const groupKeys = new Map<string, string | undefined>();
  const alertKeyOf = (entry: EstateEntry): string => {
    if (grouping.per === "finding" || (grouping.criticalAlone && entry.severity === "CRITICAL"))
      return keyOf(entry);
    const route = options.routeOf?.(entry);
    const severity = entry.severity === "CRITICAL" ? "CRITICAL" : "HIGH";
    const signature = `${entry.control}|${entry.account}|${entry.region}|${route ?? ""}|${severity}`;
    if (!groupKeys.has(signature)) {
      const copy = factory.materialize(entry, {
        at: START,
        failing: true,
        severity,
        notified: false,
      });
      const reading = readFinding(copy.ocsf ?? copy.asff);
      groupKeys.set(signature, reading.ok ? groupOf(reading.finding, grouping, route)?.dedupKey : undefined);
    }
    return groupKeys.get(signature) ?? keyOf(entry);
  };

  // The lanes the stack's rules put an event in depend only on what the patterns look at: the feed and the
  // finding's lifecycle fields. Each combination is matched once, by the real matcher, on a real event.
  const laneCache = new Map<string, Lane[]>();
  const lanesOf = (feed: string, state: ImportState, event: () => Record<string, unknown>): Lane[] => {
    const signature = `${feed}|${state.failing}|${state.severity}|${state.notified}`;
    let lanes = laneCache.get(signature);
    if (lanes === undefined) {
      lanes = harness.lanesFor(event());
      laneCache.set(signature, lanes);
    }
    return lanes;
  };
  // The event's text as EventBridge delivers it; the rules match on it parsed (once per combination, above).
  const eventText = (entry: EstateEntry, state: ImportState, feed: "asff" | "ocsf"): string => {
    const { text, resource } = factory.feedText(entry, state, feed);
    const account = organization.accounts[entry.account]?.id ?? "";
    return securityHubEventText(
      feed === "ocsf" ? IMPORTED_V2 : IMPORTED,
      { account, region: entry.region, resources: [resource] },
      [text],
      new Date(state.at),
    );
  };

  const paged = new Map<string, EstateEntry>();
  const alerts = new Map<string, EstateEntry>();
  const everCritical = new Set<string>();
  const policy = deployment.settings.urgency;
  const expectation = expectedAlerts({ pages, keyOf, alertKeyOf, policy: policy ?? SEVERITY_BASED });
  const scans: ScanFigures[] = [];
  let start = START;

  for (let scan = 1; scan <= SCANS; scan += 1) {
    if (scan > 1) options.churn(estate, scan, random, labels);
    for (const entry of estate) {
      if (!pages(entry)) continue;
      paged.set(keyOf(entry), entry);
      if (entry.severity === "CRITICAL") everCritical.add(keyOf(entry));
      alerts.set(alertKeyOf(entry), entry);
    }
    // Every finding once, in a random order over the scan; those new in the middle of a rescan at its middle.
    const regular: EstateEntry[] = [];
    const middle: EstateEntry[] = [];
    for (const entry of estate)
      (entry.newInScan === scan && entry.midScan === true ? middle : regular).push(entry);
    for (let index = regular.length - 1; index > 0; index -= 1) {
      const other = Math.floor(random() * (index + 1));
      [regular[index], regular[other]] = [regular[other] as EstateEntry, regular[index] as EstateEntry];
    }
    const half = Math.floor(regular.length / 2);
    const order = [...regular.slice(0, half), ...middle, ...regular.slice(half)];
    const before = snapshot();
    let admitted = 0;
    let next = 0;
    const arrivalAt = (position: number) =>
      start + Math.floor((position * SCAN_MS) / Math.max(1, order.length));
    const pump = () => {
      const now = time.now();
      while (next < order.length && arrivalAt(next) <= now) {
        const entry = order[next] as EstateEntry;
        next += 1;
        const state: ImportState = {
          at: now,
          failing: entry.failing,
          severity: entry.severity,
          // Only a finding that paged can have been written back.
          notified: keys.has(entry) && deployment.notified.has(factory.identity(entry).id),
        };
        expectation.imported(entry, now, scan);
        let lanesTaken = 0;
        for (const feed of feeds) {
          const lanes = lanesOf(
            feed,
            state,
            () => JSON.parse(eventText(entry, state, feed)) as Record<string, unknown>,
          );
          lanesTaken += lanes.length;
          for (const lane of lanes) deployment.deliver(lane, () => eventText(entry, state, feed));
        }
        if (lanesTaken > 0) admitted += 1;
      }
      if (next < order.length) time.at(arrivalAt(next), pump);
    };
    time.at(arrivalAt(0), pump);
    const scanEnd = start + SCAN_MS;
    await time.run(() => next >= order.length && time.now() >= scanEnd && !deployment.busy());
    const after = snapshot();
    scans.push({
      scan,
      startedAtSeconds: Math.round((start - START) / 1000),
      processedAfterSeconds: Math.round((time.now() - start) / 1000),
      imported: order.length,
      admitted,
      pagerdutyRequests: after.requests - before.requests,
      triggersSent: after.triggers - before.triggers,
      resolvesSent: after.resolves - before.resolves,
      stateChanges: expectation.takeChanges(),
      dynamodbReads: after.reads - before.reads,
      dynamodbWrites: after.writes - before.writes,
      functionInvocations: after.invocations - before.invocations,
      functionGbSeconds: Math.round((after.gbSeconds - before.gbSeconds) * 10) / 10,
      sqsRequests: after.sqs - before.sqs,
      logBytes: after.logBytes - before.logBytes,
    });
    start = Math.max(start + SCAN_INTERVAL_MS, time.now());
    if (time.now() - START > VIRTUAL_HORIZON_MS) break;
  }

  function snapshot() {
    const stats = deployment?.stats;
    const calls = stats?.dynamodb ?? {};
    let triggers = 0;
    let resolves = 0;
    for (const sent of harness.sent) {
      if (sent.action === "trigger") triggers += 1;
      else if (sent.action === "resolve") resolves += 1;
    }
    return {
      requests: harness.requests(),
      triggers,
      resolves,
      reads: (calls.GetItem ?? 0) + (calls.BatchGetItemKeys ?? 0),
      writes: (calls.PutItem ?? 0) + (calls.UpdateItem ?? 0) + (calls.DeleteItem ?? 0),
      invocations: stats?.invocations ?? 0,
      gbSeconds: stats?.gbSeconds ?? 0,
      sqs: stats?.sqsRequests ?? 0,
      logBytes: stats?.logBytes ?? 0,
    };
  }

  const alertsByKey = new Map<string, Alert[]>();
  for (const alert of harness.model.alerts()) {
    const list = alertsByKey.get(alert.dedupKey) ?? [];
    list.push(alert);
    alertsByKey.set(alert.dedupKey, list);
  }
  return {
    harness,
    factory,
    scans,
    paged,
    alerts,
    everCritical,
    serviceTeamOf: (routingKey) => harness.serviceTeams.get(routingKey),
    expectedOpen: expectation.expectedOpen(),
    newPages: expectation.newPages,
    openings: expectation.openings,
    alertsByKey,
    timeToPage(key, at) {
      const opened = (alertsByKey.get(key) ?? [])
        .map((alert) => alert.openedAt)
        .filter((openedAt) => openedAt >= at)
        .sort((a, b) => a - b)[0];
      return opened === undefined ? undefined : (opened - at) / 1000;
    },
    wallSeconds: Math.round((Date.now() - wallStart) / 100) / 10,
  };
}

/** Time to page of the findings that needed a new page, as p50 / p99 / max. */
export function pageTimes(
  run: EstateRun,
  which: (page: EstateRun["newPages"][number]) => boolean,
): Percentiles | undefined {
  return percentiles(
    run.newPages
      .filter(which)
      .map((page) => run.timeToPage(page.key, page.at))
      .filter((seconds): seconds is number => seconds !== undefined),
  );
}

/** Alerts open at the end for findings that no longer page, plus findings that page without an open alert. */
export function wrongAtEnd(run: EstateRun): { openAtEnd: Set<string>; wrong: number; lost: number } {
  const openAtEnd = new Set(run.harness.model.openAlerts().map((alert) => alert.dedupKey));
  const wrong =
    [...openAtEnd].filter((key) => !run.expectedOpen.has(key)).length +
    [...run.expectedOpen.keys()].filter((key) => !openAtEnd.has(key)).length;
  const lost = [...run.alerts.keys()].filter((key) => !run.alertsByKey.has(key)).length;
  return { openAtEnd, wrong, lost };
}
