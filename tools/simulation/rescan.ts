import type { SeverityLabel } from "../../handler/finding/model";
import type { Percentiles } from "./harness";
import { pageTimes, runEstate, wrongAtEnd, type ScanFigures } from "./estateRun";
import { churn, singleAccountOrganization, type EstateEntry } from "./organization";

// A realistic estate of one account over three scans: ElectricEye's ASFF findings, or (--format ocsf) the new
// Security Hub's OCSF control findings. Every finding is re-imported on every scan: passed checks as passed,
// resolved, informational findings, failing ones unchanged. Between scans about 1% of the estate changes (fixed,
// regressed, new, severity up or down), and new HIGH and CRITICAL findings arrive in the middle of the rescans. A
// scan starts an hour after the previous one, or once the previous one is fully processed if that takes longer,
// so that each scan's figures are its own.

const ACCOUNT = "111122223333";

export const RESCAN_FORMATS = ["asff", "ocsf"] as const;
export type RescanFormat = (typeof RESCAN_FORMATS)[number];

export interface RescanOptions {
  findings: number;
  format: RescanFormat;
  stack: string;
  config: Record<string, string>;
  seed: number;
}

export type ScanReport = Pick<
  ScanFigures,
  | "scan"
  | "startedAtSeconds"
  | "processedAfterSeconds"
  | "imported"
  | "admitted"
  | "pagerdutyRequests"
  | "triggersSent"
  | "resolvesSent"
  | "stateChanges"
  | "dynamodbReads"
  | "dynamodbWrites"
>;

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

/** About 90% passed, 8% LOW or MEDIUM failures, 2% HIGH failures of which a few are CRITICAL. */
function initialEstate(size: number): EstateEntry[] {
  const critical = Math.max(1, Math.round(size / 1000));
  const high = Math.max(1, Math.round(size * 0.02)) - critical;
  const lowOrMedium = Math.round(size * 0.08);
  return Array.from({ length: size }, (_, resource): EstateEntry => {
    const place = { account: 0, control: 0, resource, region: "us-east-1" };
    if (resource < critical) return { ...place, failing: true, severity: "CRITICAL" };
    if (resource < critical + high) return { ...place, failing: true, severity: "HIGH" };
    if (resource < critical + high + lowOrMedium)
      return { ...place, failing: true, severity: (resource % 2 === 0 ? "LOW" : "MEDIUM") as SeverityLabel };
    return { ...place, failing: false, severity: "INFORMATIONAL" };
  });
}

export async function runRescan(options: RescanOptions): Promise<RescanReport> {
  const estate = initialEstate(options.findings);
  let serial = options.findings;
  const run = await runEstate({
    organization: singleAccountOrganization(ACCOUNT),
    estate,
    format: options.format,
    stack: options.stack,
    config: options.config,
    seed: options.seed,
    churn: (entries, scan, random, paged) =>
      churn(entries, scan, random, paged, () => ({
        account: 0,
        control: 0,
        resource: (serial += 1),
        region: "us-east-1",
      })),
  });
  const newDuringRescan = pageTimes(run, (page) => page.newInScan);
  const { openAtEnd, wrong, lost } = wrongAtEnd(run);
  return {
    scenario: "rescan",
    format: options.format,
    stack: options.stack,
    findings: options.findings,
    scans: run.scans.map((scan) => ({
      scan: scan.scan,
      startedAtSeconds: scan.startedAtSeconds,
      processedAfterSeconds: scan.processedAfterSeconds,
      imported: scan.imported,
      admitted: scan.admitted,
      pagerdutyRequests: scan.pagerdutyRequests,
      triggersSent: scan.triggersSent,
      resolvesSent: scan.resolvesSent,
      stateChanges: scan.stateChanges,
      dynamodbReads: scan.dynamodbReads,
      dynamodbWrites: scan.dynamodbWrites,
    })),
    timeToPageSeconds: newDuringRescan === undefined ? {} : { newDuringRescan },
    openAlertsAtEnd: openAtEnd.size,
    openAlertsExpected: run.expectedOpen.size,
    wrongAlertsAtEnd: wrong,
    lost,
    wallSeconds: run.wallSeconds,
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
  const page = report.timeToPageSeconds.newDuringRescan;
  return [
    `rescan of ${report.findings} ${report.format === "ocsf" ? "Security Hub control findings (OCSF)" : "ElectricEye findings (ASFF)"}, stack ${report.stack}, three scans`,
    ...table(header, rows),
    `time to page, findings new during the rescans: ${page === undefined ? "none" : `p50 ${page.p50} s, p99 ${page.p99} s, max ${page.max} s (${page.count} findings)`}`,
    `open alerts at the end: ${report.openAlertsAtEnd} (expected ${report.openAlertsExpected}; wrong ${report.wrongAlertsAtEnd})`,
    `lost: ${report.lost}`,
    `wallSeconds: ${report.wallSeconds}`,
  ].join("\n");
}

/** Right-aligned columns under a header. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((name, column) =>
    Math.max(name.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: string[]) =>
    cells.map((cell, column) => cell.padStart(widths[column] ?? 0)).join("  ");
  return [line(header), ...rows.map(line)];
}
