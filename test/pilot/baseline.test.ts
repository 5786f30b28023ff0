// The baseline: a CSV of past cases gives each measure's mean, declared values win, and a bad file is
// refused with where (file, line, column) and what.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { csvBaseline, readBaseline } from '../../src/pilot/baseline.js';
import { AirlockError } from '../../src/errors.js';

describe('baseline', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'airlock-baseline-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const file = (text: string): string => {
    const f = path.join(dir, 'cases.csv');
    writeFileSync(f, text);
    return f;
  };
  const thrown = (f: () => unknown): AirlockError => {
    try {
      f();
    } catch (e) {
      if (e instanceof AirlockError) return e;
      throw e;
    }
    throw new Error('expected an AirlockError');
  };

  it('takes the mean of each column given, booleans as 0/1, blanks skipped, quoting and a BOM as CSV has them', () => {
    const f = file('\ufeffCase,Minutes,error,cost,escalated,Trust\n"C-1, urgent",10,true,4.5,0,4\nC-2,20,0,,yes,\nC-3,30,false,7.5,no,2\n');
    expect(csvBaseline(f)).toEqual({ timePerCaseMinutes: 20, errorRate: 1 / 3, costPerCase: 6, escalationRate: 1 / 3, trustScore: 3 });
  });

  it('lets declared values win over the file', () => {
    file('minutes,error\n10,1\n30,0\n');
    expect(readBaseline(dir, { csv: 'cases.csv', errorRate: 0.02, currency: 'EUR' })).toEqual({ timePerCaseMinutes: 20, errorRate: 0.02, currency: 'EUR' });
  });

  it('refuses bad values with their line and column, a file without known columns, and a missing file', () => {
    const bad = thrown(() => csvBaseline(file('case,minutes,trust\nC-1,10,4\nC-2,ten,4\n')));
    expect(bad.message).toBe('`minutes` is `ten` in case 2: expected a number of at least 0');
    expect(bad.location).toMatchObject({ line: 3, column: 2 });
    expect(thrown(() => csvBaseline(file('case,trust\nC-1,7\n'))).message).toMatch(/`trust` is `7` in case 1: expected a score from 1 to 5/);
    expect(thrown(() => csvBaseline(file('case,error\nC-1,maybe\n'))).message).toMatch(/expected 0\/1 or true\/false/);
    expect(thrown(() => csvBaseline(file('case,duration\nC-1,3\n'))).message).toMatch(/has none of the columns `minutes`, `error`, `cost`, `escalated`, `trust`/);
    expect(thrown(() => csvBaseline(file('minutes\n'))).message).toMatch(/has no cases/);
    expect(thrown(() => csvBaseline(file('minutes,error\n1,0,9\n'))).message).toMatch(/not valid CSV/);
    expect(thrown(() => csvBaseline(path.join(dir, 'none.csv'))).message).toMatch(/cannot read the baseline file/);
  });
});
