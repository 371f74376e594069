import type { BenchRun } from "../bench";
import type { OrganizationReport } from "./orgScenario";

// Cumulative deliveries over virtual time against PagerDuty's limit of 120 a minute per key: the closer the
// two lines, the closer delivery runs to what PagerDuty physically accepts.

const WIDTH = 900;
const HEIGHT = 480;
const MARGIN = { left: 70, right: 30, top: 40, bottom: 50 };

export function renderSvg(run: BenchRun): string {
  const { report, deliveries } = run;
  const endSeconds = Math.max(report.makespanSeconds, report.limitSeconds, 1);
  const total = Math.max(report.findings, 1);
  const x = (seconds: number) => MARGIN.left + (seconds / endSeconds) * (WIDTH - MARGIN.left - MARGIN.right);
  const y = (count: number) =>
    HEIGHT - MARGIN.bottom - (count / total) * (HEIGHT - MARGIN.top - MARGIN.bottom);
  const step = Math.max(1, Math.floor(deliveries.length / 600));
  const points = deliveries.filter((_, index) => index % step === 0 || index === deliveries.length - 1);
  const delivered = points.map(
    (seconds, index) =>
      `${x(seconds).toFixed(1)},${y(Math.min(deliveries.length, index * step + 1)).toFixed(1)}`,
  );
  const limitEnd = Math.min(endSeconds, report.limitSeconds);
  const minutes = Math.ceil(endSeconds / 60);
  const tickEvery = Math.max(1, Math.ceil(minutes / 12));
  const ticks = Array.from({ length: Math.floor(minutes / tickEvery) + 1 }, (_, index) => index * tickEvery)
    .map(
      (minute) =>
        `<text x="${x(minute * 60).toFixed(1)}" y="${HEIGHT - MARGIN.bottom + 18}" text-anchor="middle">${minute}</text>`,
    )
    .join("");
  const criticals = run.critical
    .map(({ arrival, accepted }) =>
      accepted === undefined
        ? ""
        : `<line x1="${x(arrival).toFixed(1)}" y1="${MARGIN.top + 6}" x2="${x(accepted).toFixed(1)}" y2="${MARGIN.top + 6}" stroke="#c0392b" stroke-width="6"/>`,
    )
    .join("");
  const title = `${report.scenario}: ${report.delivered} of ${report.findings} delivered in ${(report.makespanSeconds / 60).toFixed(1)} min; limit ${(report.limitSeconds / 60).toFixed(1)} min; efficiency ${report.efficiency}`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${MARGIN.left}" y="22" font-size="14">${title}</text>
<line x1="${MARGIN.left}" y1="${HEIGHT - MARGIN.bottom}" x2="${WIDTH - MARGIN.right}" y2="${HEIGHT - MARGIN.bottom}" stroke="black"/>
<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${HEIGHT - MARGIN.bottom}" stroke="black"/>
${ticks}
<text x="${(WIDTH / 2).toFixed(0)}" y="${HEIGHT - 12}" text-anchor="middle">virtual minutes since the first finding</text>
<text x="16" y="${MARGIN.top - 8}">${total}</text>
<text x="${MARGIN.left - 8}" y="${HEIGHT - MARGIN.bottom}" text-anchor="end">0</text>
<line x1="${x(0).toFixed(1)}" y1="${y(0).toFixed(1)}" x2="${x(limitEnd).toFixed(1)}" y2="${y(Math.min(total, (limitEnd / report.limitSeconds) * total)).toFixed(1)}" stroke="#888" stroke-dasharray="6 4"/>
<polyline fill="none" stroke="#1f6feb" stroke-width="2" points="${delivered.join(" ")}"/>
${criticals}
<text x="${WIDTH - MARGIN.right - 300}" y="${HEIGHT - MARGIN.bottom - 40}" fill="#888">dashed: 120 events a minute per key</text>
<text x="${WIDTH - MARGIN.right - 300}" y="${HEIGHT - MARGIN.bottom - 24}" fill="#1f6feb">blue: findings accepted by PagerDuty</text>
${run.critical.length > 0 ? `<text x="${WIDTH - MARGIN.right - 300}" y="${HEIGHT - MARGIN.bottom - 8}" fill="#c0392b">red: each CRITICAL, arrival to page</text>` : ""}
</svg>
`;
}

/**
 * Per team of an organization: incidents opened against failing findings (what paging once per finding costs a
 * team), and how long after the first scan started its last page arrived, against a 15-minute mark.
 */
export function renderOrganizationSvg(report: OrganizationReport): string {
  const teams = report.teams.filter((team) => team.failingFindings > 0 || team.incidentsOpened > 0);
  const row = 34;
  const top = 70;
  const left = 150;
  const panel = 330;
  const gap = 60;
  const height = top + teams.length * row + 60;
  const width = left + panel * 2 + gap + 40;
  const most = Math.max(1, ...teams.map((team) => Math.max(team.failingFindings, team.incidentsOpened)));
  const slowest = Math.max(900, ...teams.map((team) => team.firstScanLastPageSeconds));
  const count = (value: number) => (value / most) * panel;
  const seconds = (value: number) => (value / slowest) * panel;
  const right = left + panel + gap;
  const bars = teams
    .map((team, index) => {
      const y = top + index * row;
      return [
        `<text x="${left - 8}" y="${y + 16}" text-anchor="end">${escapeXml(team.team)}</text>`,
        `<rect x="${left}" y="${y}" width="${count(team.failingFindings).toFixed(1)}" height="11" fill="#c8d6e5"/>`,
        `<rect x="${left}" y="${y + 12}" width="${Math.max(1, count(team.incidentsOpened)).toFixed(1)}" height="11" fill="#c0392b"/>`,
        `<text x="${left + count(Math.max(team.failingFindings, team.incidentsOpened)) + 4}" y="${y + 20}">${team.incidentsOpened} / ${team.failingFindings}</text>`,
        `<rect x="${right}" y="${y + 4}" width="${Math.max(1, seconds(team.firstScanLastPageSeconds)).toFixed(1)}" height="14" fill="#1f6feb"/>`,
        `<text x="${right + seconds(team.firstScanLastPageSeconds) + 4}" y="${y + 16}">${(team.firstScanLastPageSeconds / 60).toFixed(1)} min</text>`,
      ].join("");
    })
    .join("\n");
  const mark = right + seconds(900);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${left}" y="22" font-size="14">${escapeXml(`organization: ${report.accounts} accounts, ${report.findings} findings (${report.format}), stack ${report.stack}`)}</text>
<text x="${left}" y="${top - 14}">incidents opened (red) against failing findings (grey)</text>
<text x="${right}" y="${top - 14}">first scan: its last page after</text>
${bars}
<line x1="${mark.toFixed(1)}" y1="${top - 6}" x2="${mark.toFixed(1)}" y2="${height - 40}" stroke="#888" stroke-dasharray="6 4"/>
<text x="${mark.toFixed(1)}" y="${height - 26}" text-anchor="middle" fill="#888">15 min</text>
</svg>
`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
