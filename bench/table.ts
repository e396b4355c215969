/** One section of the benchmark table: a titled markdown table and notes under it. */
export interface BenchSection {
  title: string;
  columns: string[];
  rows: Array<Array<string | number>>;
  notes?: string[];
}

/** A section module's default export. */
export type BenchSectionRunner = () => Promise<BenchSection>;

/** Renders a section as a markdown table. */
export function renderSection(s: BenchSection): string {
  const cell = (v: string | number) => (typeof v === 'number' ? formatNumber(v) : v);
  const lines = [
    `### ${s.title}`,
    '',
    `| ${s.columns.join(' | ')} |`,
    `|${s.columns.map(() => '---').join('|')}|`,
    ...s.rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
  if (s.notes?.length) lines.push('', ...s.notes.map((n) => `- ${n}`));
  return `${lines.join('\n')}\n`;
}

function formatNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

/** The p-th percentile (0-100) of `values` (nearest rank). */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The median of `values` (the 50th percentile, nearest rank). */
export function median(values: number[]): number {
  return percentile(values, 50);
}
