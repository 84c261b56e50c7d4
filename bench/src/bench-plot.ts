import { goalMet } from '@tenantlab/shared';
import type { Figures, Goal } from './bench-report';

const WIDTH = 760;
const ROW = 26;
const LABEL = 300;
const BAR = WIDTH - LABEL - 90;
const TOP = 44;

/**
 * The report's ratios as a horizontal bar chart (SVG, no dependencies): one bar per ratio, on a scale from 0 to a bit
 * past the largest value or goal; a ratio with a goal has the goal drawn as a dashed line and its bar green when met,
 * red when not. Ratios without a goal are grey.
 */
export function ratioChart(name: string, ratios: Figures, goals: Readonly<Record<string, Goal>>): string {
  const entries = Object.entries(ratios);
  const limits = entries.flatMap(([key, value]) => [value, goals[key]?.atLeast ?? 0, goals[key]?.atMost ?? 0]);
  const scale = Math.max(1, ...limits) * 1.1;
  const x = (value: number): number => LABEL + (Math.max(0, value) / scale) * BAR;
  const height = TOP + entries.length * ROW + 30;
  const rows = entries.map(([key, value], i) => {
    const y = TOP + i * ROW;
    const goal = goals[key];
    const color = goal === undefined ? '#9aa0a6' : goalMet(value, goal) ? '#2e7d32' : '#c62828';
    const target = goal?.atLeast ?? goal?.atMost;
    const line =
      target === undefined
        ? ''
        : `<line x1="${x(target)}" y1="${y - 2}" x2="${x(target)}" y2="${y + ROW - 6}" stroke="#000" ` +
          `stroke-dasharray="3,2"><title>goal ${escapeXml(describeGoal(goal))}</title></line>`;
    return [
      `<text x="${LABEL - 8}" y="${y + 14}" text-anchor="end">${escapeXml(key)}</text>`,
      `<rect x="${LABEL}" y="${y}" width="${x(value) - LABEL}" height="${ROW - 8}" fill="${color}"/>`,
      `<text x="${x(value) + 4}" y="${y + 14}">${value}</text>`,
      line,
    ].join('');
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="12" y="22" font-size="15" font-weight="bold">${escapeXml(name)}: ratios (dashed: goal)</text>`,
    `<line x1="${LABEL}" y1="${TOP - 6}" x2="${LABEL}" y2="${height - 24}" stroke="#444"/>`,
    ...rows,
    `<text x="${LABEL}" y="${height - 8}">0</text>`,
    `<text x="${LABEL + BAR}" y="${height - 8}" text-anchor="end">${round(scale)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}

export function describeGoal(goal: Goal): string {
  return [goal.atLeast === undefined ? '' : `>= ${goal.atLeast}`, goal.atMost === undefined ? '' : `<= ${goal.atMost}`]
    .filter(Boolean)
    .join(' and ');
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
