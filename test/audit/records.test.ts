// The trail's vocabulary: the docs list exactly the types the code defines, every record Airlock writes is
// of a known type, and `rec` writes bodies key for key as the readers expect.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NOT_EXECUTED_REASONS, RECORD_TYPES, isRecord, rec, recordTypesTable, recordsOf } from '../../src/audit/records.js';
import type { AuditRecord } from '../../src/store/store.js';
import type { Sha256Hex } from '../../src/types.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('the audit record vocabulary', () => {
  it('docs/internals.md lists every record type the code defines, as generated (`npm run gen`)', () => {
    const docs = readFileSync(path.join(ROOT, 'docs/internals.md'), 'utf8');
    expect(docs).toContain(recordTypesTable());
    const listed = [...docs.matchAll(/^\| `([a-z]+\.[a-z.-]+)` \|/gm)].map((m) => m[1]);
    expect(listed).toEqual([...RECORD_TYPES]);
  });

  it('no source file spells a record by hand: every record is built with `rec` and a known type', () => {
    const known = new Set<string>(RECORD_TYPES);
    const literal = /\{\s*type:\s*'([a-z]+\.[a-z.-]+)',\s*body:/g;
    const builder = /\brec\(\s*'([a-z]+\.[a-z.-]+)'/g;
    const offenders: string[] = [];
    const unknown: string[] = [];
    for (const file of sources(path.join(ROOT, 'src'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(literal)) offenders.push(`${path.relative(ROOT, file)}: ${m[1]}`);
      for (const m of text.matchAll(builder)) if (!known.has(m[1]!)) unknown.push(`${path.relative(ROOT, file)}: ${m[1]}`);
    }
    expect(offenders).toEqual([]);
    expect(unknown).toEqual([]);
  });

  it('drops fields left undefined and keeps payloads, so bodies stay key for key what readers expect', () => {
    const item = rec('action.not-executed', { tool: 't', why: 'denied', reasons: ['no'], approvalId: undefined });
    expect(item).toEqual({ type: 'action.not-executed', body: { tool: 't', why: 'denied', reasons: ['no'] } });
    const payload = { hash: 'a'.repeat(64) as Sha256Hex, data: '{}' };
    expect(rec('probe.read', { probe: 'p', purpose: 'evidence', argsHash: 'x', outcome: 'ok' }, [payload]).payloads).toEqual([payload]);
    expect(NOT_EXECUTED_REASONS).toContain('second-path-disagreed');
  });

  it('reads records written before this vocabulary existed by their type, bodies as they were', () => {
    const h = '0'.repeat(64) as Sha256Hex;
    const old: AuditRecord[] = [
      { seq: 1, schemaVersion: 1, type: 'action.executed', time: 't', runId: 'r', principal: null, onBehalfOf: null, body: { tool: 'x', actionHash: 'a', outcome: 'ok', resultHash: null, approvalId: null }, prevHash: h, leafHash: h, chainHash: h },
      { seq: 2, schemaVersion: 1, type: 'some.future-type', time: 't', runId: 'r', principal: null, onBehalfOf: null, body: {}, prevHash: h, leafHash: h, chainHash: h },
    ];
    const [executed] = recordsOf(old, 'action.executed');
    expect(executed?.body.outcome).toBe('ok');
    expect(old.filter((r) => isRecord(r, 'action.intent'))).toEqual([]);
  });
});
