import type { SeverityLabel } from "../../handler/finding/model";
import { dedupKeyOf } from "../../handler/finding/mapping";
import { readFinding } from "../../handler/finding/read";
import { START, VIRTUAL_HORIZON_MS, createHarness, percentiles, type Percentiles } from "./harness";
import {
  electricEyeFinding,
  importedEvent,
  passedOcsf,
  passedReimport,
  securityHubControlFinding,
  withOcsfSeverity,
} from "./findings";
import { seededRandom } from "./virtualTime";

// A realistic estate over three scans: ElectricEye's ASFF findings, or (--format ocsf) the new Security Hub's
// OCSF control findings. Every finding is re-imported on every scan: passed checks as passed, resolved,
// informational findings, failing ones unchanged. Between scans about 1% of the estate
// changes (fixed, regressed, new, severity up or down), and new HIGH and CRITICAL findings arrive in the middle of
// the rescans. A scan starts an hour after the previous one, or once the previous one is fully processed if that
// takes longer, so that each scan's figures are its own.

const MINUTE = 60_000;
const SCAN_INTERVAL_MS = 60 * MINUTE;
// ElectricEye imports a scan's findings over a few minutes.
const SCAN_MS = 5 * MINUTE;
const SCANS = 3;
const ACCOUNT = "111122223333";
const LADDER: SeverityLabel[] = ["LOW", "MEDIUM", "HIGH", "CRITICAL"];

export const RESCAN_FORMATS = ["asff", "ocsf"] as const;
export type RescanFormat = (typeof RESCAN_FORMATS)[number];

export interface RescanOptions {
  findings: number;
  format: RescanFormat;
  stack: string;
  config: Record<string, string>;
  seed: number;
}

export interface ScanReport {
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
}

export interface RescanReport {
  scenario: "rescan";
  format: RescanFormat;
  stack: string;
  findings: number;
  scans: ScanReport[];
  timeToPageSeconds: { newDuringRescan?: Percentiles };
  openAlertsAtEnd: number;
  openAlertsExpected: number;
  /** Alerts open at the end for findings that no longer fail, and failing findings without an open alert. */
  wrongAlertsAtEnd: number;
  /** Findings that should have paged and never reached PagerDuty. */
  lost: number;
  wallSeconds: number;
}

interface EstateFinding {
  bucket: string;
  failing: boolean;
  severity: SeverityLabel;
  /** New in a rescan: its time to page is measured. */
  newInScan?: number;
  /** Arrives in the middle of its scan rather than at a random moment of it. */
  midScan?: boolean;
}

/**
 * The finding a scan imports for an estate entry at a moment, in the estate's format. A failing finding the
 * function wrote back shows the workflow Security Hub keeps for it (NOTIFIED, In Progress); a passing one is
 * resolved, as Security Hub resolves a passed control, so its workflow no longer holds (`notified` forgets it).
 */
function findingOf(
  format: RescanFormat,
  entry: EstateFinding,
  at: number,
  notified = new Set<string>(),
): Record<string, unknown> {
  const time = new Date(at).toISOString();
  if (format === "ocsf") {
    const control = securityHubControlFinding(entry.bucket, ACCOUNT);
    const info = control.finding_info as Record<string, unknown>;
    const base = {
      ...withOcsfSeverity(control, entry.severity),
      time: at,
      time_dt: time,
      finding_info: {
        ...info,
        modified_time: at,
        modified_time_dt: time,
        last_seen_time: at,
        last_seen_time_dt: time,
      },
    };
    if (!entry.failing) {
      notified.delete(String(info.uid));
      return passedOcsf(base);
    }
    return notified.has(String(info.uid)) ? { ...base, status: "In Progress", status_id: 2 } : base;
  }
  const finding = electricEyeFinding("s3-encryption-high", entry.bucket, ACCOUNT);
  const base = {
    ...finding,
    Severity: { Label: entry.severity },
    Workflow: { Status: notified.has(String(finding.Id)) ? "NOTIFIED" : "NEW" },
    RecordState: "ACTIVE",
    UpdatedAt: time,
    LastObservedAt: time,
  };
  if (entry.failing) return base;
  notified.delete(String(finding.Id));
  return passedReimport(base);
}

function dedupKeyOfEntry(format: RescanFormat, entry: EstateFinding): string {
  const reading = readFinding(findingOf(format, entry, 0));
  if (!reading.ok) throw new Error(`the ${format} estate's finding is unreadable: ${reading.reason}`);
  return dedupKeyOf(reading.finding.productArn, reading.finding.id);
}

/** About 90% passed, 8% LOW or MEDIUM failures, 2% HIGH failures of which a few are CRITICAL. */
function initialEstate(size: number): EstateFinding[] {
  const critical = Math.max(1, Math.round(size / 1000));
  const high = Math.max(1, Math.round(size * 0.02)) - critical;
  const lowOrMedium = Math.round(size * 0.08);
  return Array.from({ length: size }, (_, index) => {
    const bucket = `estate-bucket-${String(index).padStart(6, "0")}`;
    if (index < critical) return { bucket, failing: true, severity: "CRITICAL" };
    if (index < critical + high) return { bucket, failing: true, severity: "HIGH" };
    if (index < critical + high + lowOrMedium)
      return { bucket, failing: true, severity: index % 2 === 0 ? "LOW" : "MEDIUM" };
    return { bucket, failing: false, severity: "INFORMATIONAL" };
  });
}

function failingLabel(random: () => number): SeverityLabel {
  const draw = random();
  return draw < 0.4 ? "LOW" : draw < 0.8 ? "MEDIUM" : draw < 0.98 ? "HIGH" : "CRITICAL";
}

/**
 * About 1% of the estate changes before a rescan: fixed, regressed, severity up or down (only where both labels
 * page, since a finding that drops below the paged labels keeps its alert until it passes), and new findings.
 */
function churn(estate: EstateFinding[], scan: number, random: () => number, paged: SeverityLabel[]): void {
  const changes = Math.max(4, Math.round(estate.length * 0.01));
  const pick = (want: (entry: EstateFinding) => boolean): EstateFinding | undefined => {
    for (let attempt = 0; attempt < 1000; attempt += 1) {
      const entry = estate[Math.floor(random() * estate.length)];
      if (entry !== undefined && want(entry)) return entry;
    }
    return undefined;
  };
  for (let change = 0; change < changes; change += 1) {
    const kind = change % 10;
    if (kind < 4) {
      const entry = pick((candidate) => candidate.failing);
      if (entry !== undefined) Object.assign(entry, { failing: false, severity: "INFORMATIONAL" });
    } else if (kind < 7) {
      const entry = pick((candidate) => !candidate.failing);
      if (entry !== undefined) Object.assign(entry, { failing: true, severity: failingLabel(random) });
    } else if (kind < 9) {
      const entry = pick((candidate) => {
        if (!candidate.failing) return false;
        const next =
          LADDER[LADDER.indexOf(candidate.severity) + (candidate.severity === "CRITICAL" ? -1 : 1)];
        return next !== undefined && paged.includes(candidate.severity) === paged.includes(next);
      });
      if (entry !== undefined) {
        const step = entry.severity === "CRITICAL" ? -1 : 1;
        entry.severity = LADDER[LADDER.indexOf(entry.severity) + step] as SeverityLabel;
      }
    } else {
      estate.push({
        bucket: `estate-new-${scan}-${String(change).padStart(6, "0")}`,
        failing: true,
        severity: failingLabel(random),
        newInScan: scan,
      });
    }
  }
}

export async function runRescan(options: RescanOptions): Promise<RescanReport> {
  const wallStart = Date.now();
  const harness = createHarness({
    stack: options.stack,
    // The new Security Hub's control findings come from Security Hub itself, not ElectricEye.
    config:
      options.format === "ocsf"
        ? { findingFormats: "ocsf", allProducts: "true", products: "[]", ...options.config }
        : options.config,
    keys: 1,
    seed: options.seed,
  });
  const { time, model, config } = harness;
  const deployment = harness.deployments[0];
  if (deployment === undefined) throw new Error("no deployment");
  const random = seededRandom(options.seed + 1);
  const paged = config.filter.severityLabels;
  const pages = (entry: EstateFinding) => entry.failing && paged.includes(entry.severity);

  const estate = initialEstate(options.findings);
  const everPaged = new Set<string>();
  const arrivedAt = new Map<string, number>();
  let open = new Map<string, SeverityLabel>();
  const scans: ScanReport[] = [];
  let start = START;

  for (let scan = 1; scan <= SCANS; scan += 1) {
    if (scan > 1) {
      churn(estate, scan, random, paged);
      // New HIGH and CRITICAL findings in the middle of the rescan, behind half of it.
      const extra = Math.max(1, Math.round(options.findings / 2000));
      for (let index = 0; index < extra; index += 1) {
        estate.push({
          bucket: `estate-midscan-${scan}-${String(index).padStart(4, "0")}`,
          failing: true,
          severity: index % 3 === 2 ? "CRITICAL" : "HIGH",
          newInScan: scan,
          midScan: true,
        });
      }
    }
    // The expected alert changes of this scan, from the estate itself.
    const nowOpen = new Map<string, SeverityLabel>();
    let stateChanges = 0;
    for (const entry of estate) {
      const key = dedupKeyOfEntry(options.format, entry);
      if (pages(entry)) {
        nowOpen.set(key, entry.severity);
        everPaged.add(key);
        if (open.get(key) !== entry.severity) stateChanges += 1;
      } else if (open.has(key)) {
        stateChanges += 1;
      }
    }
    open = nowOpen;

    // Every finding once, in a random order over the scan; the mid-scan findings at its middle.
    const order = estate.map((entry, index) => ({ entry, index, sort: random() }));
    order.sort((a, b) => a.sort - b.sort);
    const before = snapshot();
    let admitted = 0;
    order.forEach(({ entry }, position) => {
      const midScan = entry.newInScan === scan && entry.midScan === true;
      const at = start + (midScan ? SCAN_MS / 2 : Math.floor((position * SCAN_MS) / order.length));
      const event = importedEvent([findingOf(options.format, entry, at, deployment.notified)], new Date(at));
      const lanes = harness.lanesFor(event);
      if (lanes.length > 0) admitted += 1;
      time.at(at, () => {
        if (entry.newInScan === scan) arrivedAt.set(dedupKeyOfEntry(options.format, entry), time.now());
        const body = JSON.stringify(event);
        for (const lane of lanes) deployment.deliver(lane, body);
      });
    });
    const scanEnd = start + SCAN_MS;
    await time.run(() => time.now() >= scanEnd && !deployment.busy());
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
      stateChanges,
      dynamodbReads: after.reads - before.reads,
      dynamodbWrites: after.writes - before.writes,
    });
    start = Math.max(start + SCAN_INTERVAL_MS, time.now());
    if (time.now() - START > VIRTUAL_HORIZON_MS) break;
  }

  function snapshot() {
    const calls = deployment?.stats.dynamodb ?? {};
    const count = (action: string) => harness.sent.filter((sent) => sent.action === action).length;
    return {
      requests: harness.requests(),
      triggers: count("trigger"),
      resolves: count("resolve"),
      reads: calls.GetItem ?? 0,
      writes: (calls.PutItem ?? 0) + (calls.UpdateItem ?? 0) + (calls.DeleteItem ?? 0),
    };
  }

  const openAtEnd = new Set(model.openAlerts().map((alert) => alert.dedupKey));
  const wrong =
    [...openAtEnd].filter((key) => !open.has(key)).length +
    [...open.keys()].filter((key) => !openAtEnd.has(key)).length;
  const everOpened = new Set(model.alerts().map((alert) => alert.dedupKey));
  const newDuringRescan = percentiles(
    [...arrivedAt]
      .filter(([key]) => everPaged.has(key) && harness.firstAccepted.has(key))
      .map(([key, at]) => ((harness.firstAccepted.get(key) ?? 0) - at) / 1000),
  );
  return {
    scenario: "rescan",
    format: options.format,
    stack: options.stack,
    findings: options.findings,
    scans,
    timeToPageSeconds: newDuringRescan === undefined ? {} : { newDuringRescan },
    openAlertsAtEnd: openAtEnd.size,
    openAlertsExpected: open.size,
    wrongAlertsAtEnd: wrong,
    lost: [...everPaged].filter((key) => !everOpened.has(key)).length,
    wallSeconds: Math.round((Date.now() - wallStart) / 100) / 10,
  };
}

export function formatRescan(report: RescanReport): string {
  const header = [
    "scan",
    "started s",
    "processed after s",
    "imported",
    "admitted",
    "PD requests",
    "triggers",
    "resolves",
    "state changes",
    "DDB reads",
    "DDB writes",
  ];
  const rows = report.scans.map((scan) =>
    [
      scan.scan,
      scan.startedAtSeconds,
      scan.processedAfterSeconds,
      scan.imported,
      scan.admitted,
      scan.pagerdutyRequests,
      scan.triggersSent,
      scan.resolvesSent,
      scan.stateChanges,
      scan.dynamodbReads,
      scan.dynamodbWrites,
    ].map(String),
  );
  const widths = header.map((name, column) =>
    Math.max(name.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: string[]) =>
    cells.map((cell, column) => cell.padStart(widths[column] ?? 0)).join("  ");
  const page = report.timeToPageSeconds.newDuringRescan;
  return [
    `rescan of ${report.findings} ${report.format === "ocsf" ? "Security Hub control findings (OCSF)" : "ElectricEye findings (ASFF)"}, stack ${report.stack}, three scans`,
    line(header),
    ...rows.map(line),
    `time to page, findings new during the rescans: ${page === undefined ? "none" : `p50 ${page.p50} s, p99 ${page.p99} s, max ${page.max} s (${page.count} findings)`}`,
    `open alerts at the end: ${report.openAlertsAtEnd} (expected ${report.openAlertsExpected}; wrong ${report.wrongAlertsAtEnd})`,
    `lost: ${report.lost}`,
    `wallSeconds: ${report.wallSeconds}`,
  ].join("\n");
}
