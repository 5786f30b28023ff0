// Resource URI templates: `{name}` is one segment, `{+name}` one or more; neither can carry a query,
// a fragment, an empty, `.` or `..` segment, and expanding then matching gives the arguments back.
import { describe, expect, it } from 'vitest';
import { expandTemplate, matchTemplate, templateVars } from '../../src/util/uri-template.js';

describe('URI templates', () => {
  it('names the variables of both kinds, in order', () => {
    expect(templateVars('context://{source}/{+path}')).toEqual(['source', 'path']);
  });

  it('matches one segment for {name} and several for {+name}, decoding each segment', () => {
    expect(matchTemplate('demo://doc/{file}', 'demo://doc/a%20b.md')).toEqual({ file: 'a b.md' });
    expect(matchTemplate('demo://doc/{file}', 'demo://doc/a/b.md')).toBeNull();
    expect(matchTemplate('context://{source}/{+path}', 'context://hr/team/2030/plan.md')).toEqual({ source: 'hr', path: 'team/2030/plan.md' });
  });

  it('refuses what would climb out or reach another part of the URI', () => {
    for (const uri of ['context://hr/../x.md', 'context://hr/a/./x.md', 'context://hr/a//x.md', 'context://hr/%2E%2E/x.md', 'context://hr/a%2Fb', 'context://hr/a?x=1', 'context://hr/a#f', 'context://hr/%E0%A4%A']) {
      expect(matchTemplate('context://{source}/{+path}', uri), uri).toBeNull();
    }
    expect(matchTemplate('demo://doc/{file}', 'demo://doc/..')).toBeNull();
  });

  it('expands each segment percent-encoded, and matching the expansion gives the arguments back', () => {
    const args = { source: 'h r', path: 'a b/c&d.md' };
    const uri = expandTemplate('context://{source}/{+path}', args);
    expect(uri).toBe('context://h%20r/a%20b/c%26d.md');
    expect(matchTemplate('context://{source}/{+path}', uri)).toEqual(args);
  });
});
