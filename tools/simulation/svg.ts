import type { BenchRun } from "../bench";

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
