// A workflow's baseline: what its `pilot.baseline` says, with the means of a CSV of past cases folded
// in (csv-parse: quoting, BOMs and line ends as RFC 4180 has them). A bad file is an `input` error that
// names the file, the line and the column.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { BaselineConfig } from '../config/pilot-schema.js';
import { AirlockError } from '../errors.js';
import type { Baseline } from './kpis.js';

/** The columns a baseline CSV may have, and the measure each one's mean gives. */
const COLUMNS = { minutes: 'timePerCaseMinutes', error: 'errorRate', cost: 'costPerCase', escalated: 'escalationRate', trust: 'trustScore' } as const;
/** Bounds on a baseline file. */
export const BASELINE_LIMITS = { bytes: 16 * 1024 * 1024, rows: 1_000_000 } as const;

/** The baseline of a workflow whose workspace is `dir`: declared values win over the CSV's means. */
export function readBaseline(dir: string, b: BaselineConfig): Baseline {
  const { csv, ...declared } = b;
  if (csv === undefined) return declared;
  return { ...csvBaseline(path.resolve(dir, csv)), ...declared };
}

/** The means of a CSV of past cases, one row per case; booleans (`error`, `escalated`) as 0/1 or true/false. */
export function csvBaseline(file: string): Baseline {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new AirlockError('input', `cannot read the baseline file: ${e instanceof Error ? e.message : String(e)}`, { location: { file }, hint: 'fix `pilot.baseline.csv` in the workflow (relative to the workspace)' });
  }
  if (text.length > BASELINE_LIMITS.bytes) throw new AirlockError('input', `the baseline file is larger than ${BASELINE_LIMITS.bytes} bytes`, { location: { file } });
  let rows: Record<string, string>[];
  try {
    rows = parse(text, { columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()), skip_empty_lines: true, trim: true, bom: true, to_line: BASELINE_LIMITS.rows + 1 }) as Record<string, string>[];
  } catch (e) {
    const err = e as { message?: string; lines?: number; column?: number };
    throw new AirlockError('input', `the baseline file is not valid CSV: ${err.message ?? String(e)}`, { location: { file, ...(err.lines ? { line: err.lines } : {}) } });
  }
  if (rows.length === 0) throw new AirlockError('input', 'the baseline file has no cases (a header, then one row per case)', { location: { file } });
  const header = Object.keys(rows[0] as object);
  const known = header.filter((h) => Object.hasOwn(COLUMNS, h));
  if (known.length === 0) {
    throw new AirlockError('input', `the baseline file has none of the columns ${Object.keys(COLUMNS).map((c) => `\`${c}\``).join(', ')}`, { location: { file, line: 1 }, hint: `its header is: ${header.join(', ')}` });
  }
  const out: Record<string, number> = {};
  for (const column of known as (keyof typeof COLUMNS)[]) {
    let sum = 0;
    let n = 0;
    rows.forEach((row, i) => {
      const raw = row[column] ?? '';
      if (raw === '') return;
      const value = column === 'error' || column === 'escalated' ? flag(raw) : Number(raw);
      const bad = value === null || !Number.isFinite(value) || value < 0 || (column === 'trust' && (value < 1 || value > 5));
      if (bad) {
        throw new AirlockError('input', `\`${column}\` is \`${raw.slice(0, 40)}\` in case ${i + 1}: expected ${column === 'trust' ? 'a score from 1 to 5' : column === 'error' || column === 'escalated' ? '0/1 or true/false' : 'a number of at least 0'}`, {
          location: { file, line: i + 2, column: header.indexOf(column) + 1 },
        });
      }
      sum += value;
      n++;
    });
    if (n > 0) out[COLUMNS[column]] = sum / n;
  }
  return out as Baseline;
}

function flag(raw: string): number | null {
  const v = raw.toLowerCase();
  if (v === '1' || v === 'true' || v === 'yes') return 1;
  if (v === '0' || v === 'false' || v === 'no') return 0;
  return null;
}
