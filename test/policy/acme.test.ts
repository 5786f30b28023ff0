// The demo workspace's policies and policy tests, against the acme contracts from docs/internals.md.
import { describe, expect, it } from 'vitest';
import { compilePolicies } from '../../src/policy/compile.js';
import { formatPolicyTestReport, runPolicyTests } from '../../src/policy/policy-tests.js';
import { ACME_CONTRACTS, ACME_PRINCIPALS, readSources, workspace } from './fixtures.js';

describe('examples/acme policies', () => {
  const sources = readSources('examples/acme/policies', '.cedar');
  const compiled = compilePolicies(sources, ACME_CONTRACTS, { principals: ACME_PRINCIPALS });

  it('compile against the generated schema with readable ids and reasons', () => {
    expect(sources.length).toBeGreaterThan(0);
    expect(compiled.warnings).toEqual([]);
    for (const p of compiled.policies.values()) {
      expect(p.id).not.toContain('#');
      expect(p.reason, p.id).toBeTruthy();
    }
  });

  it('pass every case in examples/acme/tests/policy', () => {
    const tests = readSources('examples/acme/tests/policy', '.yaml');
    const report = runPolicyTests(compiled, workspace(), tests);
    expect(report.results.length).toBeGreaterThanOrEqual(12);
    expect(report.failed, formatPolicyTestReport(report)).toBe(0);
  });
});
