/*
 * table.ts: plain-text tables for the CLI's reports.  Columns are separated by two
 * spaces; numeric columns are right-aligned.
 */

export interface Column {
  header: string;
  align?: 'left' | 'right';   // default 'right' (numbers)
}

export function formatTable(columns: Column[], rows: string[][]): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    columns.map((c, i) => {
      const s = cells[i] ?? '';
      return c.align === 'left' ? s.padEnd(widths[i]) : s.padStart(widths[i]);
    }).join('  ').trimEnd();
  return [line(columns.map((c) => c.header)), ...rows.map(line)].join('\n');
}
