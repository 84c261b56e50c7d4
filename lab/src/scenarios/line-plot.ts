/** A series of (x, y) points drawn as one polyline. */
export interface PlotLine {
  name: string;
  points: [number, number][];
  color?: string;
}

/** A time marker: a dashed vertical line at `x`, and a shaded span to `until` when given. */
export interface PlotMarker {
  x: number;
  until?: number;
  label: string;
}

const WIDTH = 900;
const HEIGHT = 360;
const LEFT = 70;
const RIGHT = 20;
const TOP = 40;
const BOTTOM = 50;
const COLORS = ['#1565c0', '#c62828', '#2e7d32', '#6a1b9a', '#ef6c00', '#00838f'];

/** A line plot as SVG (no dependencies): axes with a few ticks, a legend, and the timeline's events as markers. */
export function linePlot(options: {
  title: string;
  xLabel: string;
  yLabel: string;
  lines: PlotLine[];
  markers?: PlotMarker[];
}): string {
  const points = options.lines.flatMap((line) => line.points);
  const xs = [...points.map(([x]) => x), ...(options.markers ?? []).flatMap((m) => [m.x, m.until ?? m.x])];
  const xMin = Math.min(0, ...xs);
  const xMax = Math.max(xMin + 1, ...xs);
  const yMax = niceCeiling(Math.max(1, ...points.map(([, y]) => y)));
  const plotW = WIDTH - LEFT - RIGHT;
  const plotH = HEIGHT - TOP - BOTTOM;
  const sx = (x: number): number => LEFT + ((x - xMin) / (xMax - xMin)) * plotW;
  const sy = (y: number): number => TOP + plotH - (Math.max(0, y) / yMax) * plotH;
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${LEFT}" y="22" font-size="14" font-weight="bold">${escapeXml(options.title)}</text>`,
    ...(options.markers ?? []).map((m, i) => {
      const span =
        m.until === undefined
          ? ''
          : `<rect x="${sx(m.x)}" y="${TOP}" width="${Math.max(1, sx(m.until) - sx(m.x))}" height="${plotH}" fill="#fbc02d" opacity="0.18"/>`;
      return (
        span +
        `<line x1="${sx(m.x)}" y1="${TOP}" x2="${sx(m.x)}" y2="${TOP + plotH}" stroke="#555" stroke-dasharray="4,3"/>` +
        `<text x="${sx(m.x) + 3}" y="${TOP + 12 + (i % 3) * 12}" fill="#333">${escapeXml(m.label)}</text>`
      );
    }),
    `<line x1="${LEFT}" y1="${TOP + plotH}" x2="${LEFT + plotW}" y2="${TOP + plotH}" stroke="#000"/>`,
    `<line x1="${LEFT}" y1="${TOP}" x2="${LEFT}" y2="${TOP + plotH}" stroke="#000"/>`,
    ...ticks.map(
      (t) =>
        `<text x="${LEFT - 6}" y="${sy(t * yMax) + 4}" text-anchor="end">${format(t * yMax)}</text>` +
        `<text x="${sx(xMin + t * (xMax - xMin))}" y="${TOP + plotH + 16}" text-anchor="middle">${format(xMin + t * (xMax - xMin))}</text>`,
    ),
    `<text x="${LEFT + plotW / 2}" y="${HEIGHT - 12}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
    `<text x="14" y="${TOP + plotH / 2}" transform="rotate(-90 14 ${TOP + plotH / 2})" text-anchor="middle">${escapeXml(options.yLabel)}</text>`,
    ...options.lines.map((line, i) => {
      const color = line.color ?? COLORS[i % COLORS.length];
      const path = line.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
      return (
        `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${path}"/>` +
        `<text x="${LEFT + plotW - 150}" y="${TOP + 14 + i * 14}" fill="${color}">${escapeXml(line.name)}</text>`
      );
    }),
    '</svg>',
    '',
  ];
  return parts.join('\n');
}

function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function format(value: number): string {
  if (Math.abs(value) >= 10_000) return `${Math.round(value / 1000)}k`;
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c);
}
