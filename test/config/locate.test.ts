// locate: zod issue paths map to 1-based YAML positions, falling back to the nearest ancestor.
import { LineCounter, parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { formatPath, locate } from '../../src/config/locate.js';

const TEXT = `name: acme
tools:
  - name: a.b
    inputSchema:
      type: object
  - name: c.d
    expose: { x: long }
    empty:
base: &base
  k: 1
use: *base
`;

function at(path: (string | number)[], opts?: { at?: 'key' | 'value' }): ReturnType<typeof locate> {
  const lc = new LineCounter();
  const doc = parseDocument(TEXT, { lineCounter: lc });
  return locate(doc, lc, path, opts);
}

describe('locate', () => {
  it('finds values in maps and sequences', () => {
    expect(at(['name'])).toEqual({ line: 1, column: 7, exact: true });
    expect(at(['tools', 0])).toEqual({ line: 3, column: 5, exact: true });
    expect(at(['tools', 0, 'inputSchema'])).toEqual({ line: 5, column: 7, exact: true });
    expect(at(['tools', 0, 'inputSchema', 'type'])).toEqual({ line: 5, column: 13, exact: true });
    expect(at(['tools', 1, 'expose', 'x'])).toEqual({ line: 7, column: 18, exact: true });
  });

  it('points at a key when asked', () => {
    expect(at(['tools', 1, 'expose', 'x'], { at: 'key' })).toEqual({ line: 7, column: 15, exact: true });
  });

  it('points at the key of an empty value', () => {
    expect(at(['tools', 1, 'empty'])).toEqual({ line: 8, column: 5, exact: true });
  });

  it('falls back to the nearest existing ancestor', () => {
    expect(at(['tools', 0, 'description'])).toEqual({ line: 3, column: 5, exact: false });
    expect(at(['tools', 7, 'name'])).toEqual({ line: 3, column: 3, exact: false });
    expect(at(['nope', 'deeper'])).toEqual({ line: 1, column: 1, exact: false });
    expect(at(['name', 'too', 'deep'])).toEqual({ line: 1, column: 7, exact: false });
  });

  it('walks through an alias but points where it is used', () => {
    expect(at(['use'])).toEqual({ line: 11, column: 6, exact: true });
    expect(at(['use', 'k'])).toEqual({ line: 10, column: 6, exact: true });
  });

  it('handles an empty document', () => {
    const lc = new LineCounter();
    expect(locate(parseDocument('', { lineCounter: lc }), lc, ['a'])).toEqual({ line: 1, column: 1, exact: false });
  });
});

describe('formatPath', () => {
  it('writes paths the way users read them', () => {
    expect(formatPath(['tools', 3, 'inputSchema'])).toBe('tools[3].inputSchema');
    expect(formatPath(['verify', 'expect', '$probe.status'])).toBe('verify.expect["$probe.status"]');
    expect(formatPath([])).toBe('');
    expect(formatPath([0, 'a-b'])).toBe('[0].a-b');
  });
});
