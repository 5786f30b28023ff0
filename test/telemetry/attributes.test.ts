// Every span attribute name Airlock sets is declared in src/telemetry/attributes.ts, and the copies of
// the incubating GenAI and MCP names there still match @opentelemetry/semantic-conventions.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as incubating from '@opentelemetry/semantic-conventions/incubating';
import { AIRLOCK, ATTRIBUTE_NAMES, GEN_AI, MCP } from '../../src/telemetry/attributes.js';

const SRC = path.resolve(import.meta.dirname, '../../src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : /\.tsx?$/.test(e.name) ? [p] : [];
  });
}

/** Attribute names written as string literals: `setAttribute('x', ...)`, and quoted convention-shaped keys (`'gen_ai.x': ...`). */
function literalNames(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/setAttribute\(\s*(['"`])([^'"`]+)\1/g)) found.push(m[2] as string);
  for (const m of text.matchAll(/(['"])((?:gen_ai|mcp|airlock|error|service)\.[a-z0-9_.]+)\1\s*:/g)) found.push(m[2] as string);
  return found;
}

const snake = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

describe('span attribute names', () => {
  it('src/ sets no attribute name by literal outside attributes.ts, and every declared name is unique', () => {
    const offenders: string[] = [];
    for (const file of sources(SRC)) {
      if (file.endsWith(path.join('telemetry', 'attributes.ts'))) continue;
      for (const name of literalNames(readFileSync(file, 'utf8'))) offenders.push(`${path.relative(SRC, file)}: \`${name}\`${ATTRIBUTE_NAMES.has(name) ? ' (declared: use the constant)' : ' (not declared)'}`);
    }
    expect(offenders).toEqual([]);
    const all = [...Object.values(GEN_AI), ...Object.values(MCP), ...Object.values(AIRLOCK)];
    expect(new Set(all).size).toBe(all.length);
    for (const name of Object.values(AIRLOCK)) expect(name).toMatch(/^airlock\.[a-z_.]+$/);
  });

  it('the scanner sees a literal name, declared or not', () => {
    expect(literalNames(`span.setAttribute('airlock.secret_sauce', 1); span.setAttributes({ 'gen_ai.made_up': 2 })`)).toEqual(['airlock.secret_sauce', 'gen_ai.made_up']);
  });

  it('the copied GenAI and MCP names match the installed semantic conventions', () => {
    const conventions = incubating as unknown as Record<string, string>;
    for (const [key, value] of Object.entries(GEN_AI)) expect([key, conventions[`ATTR_GEN_AI_${snake(key)}`]]).toEqual([key, value]);
    for (const [key, value] of Object.entries(MCP)) expect([key, conventions[`ATTR_MCP_${snake(key)}`]]).toEqual([key, value]);
  });
});
