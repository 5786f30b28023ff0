// Graduation rules at their boundaries: exactly the minimum runs and the maximum override rate promote,
// one short does not; a tier's own evidence failing demotes (incidents even on few runs); the declared
// tier is a ceiling; sign-offs are listed until given.
import { describe, expect, it } from 'vitest';
import { pilotSchema } from '../../src/config/pilot-schema.js';
import { judgeAutonomy, type AutonomyEvidence } from '../../src/pilot/autonomy.js';
import { computeKpis, type Kpis } from '../../src/pilot/kpis.js';

const pilot = pilotSchema.parse({
  graduation: {
    'execute-low': { minRuns: 10, maxOverrideRate: 0.1, minVerifiedRate: 0.9, maxOpenIncidents: 0, reversibleWrites: true },
    'execute-high': { minRuns: 20, maxOverrideRate: 0.05, minVerifiedRate: 0.95, signOff: ['user:maria', 'user:sec'], evalSuite: 'scenarios' },
  },
});
const none = computeKpis([], '2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z');
const kpis = (o: Partial<Kpis>): Kpis => ({ ...none, ...o });
const evidence = (o: Partial<AutonomyEvidence>): AutonomyEvidence => ({
  tier: 'prepare',
  declaredTier: 'execute-high',
  pilot,
  kpis: kpis({ finished: 10, verifiedRate: 0.9, decided: 10, overridden: 1, overrideRate: 0.1 }),
  openIncidents: 0,
  irreversibleWrites: [],
  evalResult: null,
  signatures: [],
  ...o,
});

describe('autonomy graduation', () => {
  it('promotes at exactly the bounds, keeps one short of any', () => {
    expect(judgeAutonomy(evidence({})).recommendation).toBe('promote');
    expect(judgeAutonomy(evidence({ kpis: kpis({ finished: 9, verifiedRate: 0.9, decided: 10, overridden: 1, overrideRate: 0.1 }) })).recommendation).toBe('keep');
    expect(judgeAutonomy(evidence({ kpis: kpis({ finished: 10, verifiedRate: 0.9, decided: 9, overridden: 1, overrideRate: 1 / 9 }) })).recommendation).toBe('keep');
    expect(judgeAutonomy(evidence({ kpis: kpis({ finished: 10, verifiedRate: 0.89, decided: 10, overridden: 0, overrideRate: 0 }) })).recommendation).toBe('keep');
    expect(judgeAutonomy(evidence({ openIncidents: 1 })).recommendation).toBe('keep');
    const irreversible = judgeAutonomy(evidence({ irreversibleWrites: ['mail.send'] }));
    expect(irreversible.recommendation).toBe('keep');
    expect(irreversible.reasons).toContain('for execute-low: every write reversible is irreversible: mail.send, needs a compensation on each write tool');
  });

  it('a step that names sign-offs and an eval suite needs both: the suite must have passed, the sign-offs are listed until given', () => {
    const high = { tier: 'execute-low' as const, kpis: kpis({ finished: 20, verifiedRate: 0.95, decided: 20, overridden: 1, overrideRate: 0.05 }) };
    expect(judgeAutonomy(evidence({ ...high })).recommendation).toBe('keep');
    expect(judgeAutonomy(evidence({ ...high, evalResult: { passed: false, at: '2026-01-30' } })).recommendation).toBe('keep');
    const passed = judgeAutonomy(evidence({ ...high, evalResult: { passed: true, at: '2026-01-30' }, signatures: ['user:sec'] }));
    expect([passed.recommendation, passed.next, passed.missingSignOffs]).toEqual(['promote', 'execute-high', ['user:maria']]);
  });

  it('never promotes past the tier the workflow file declares', () => {
    const j = judgeAutonomy(evidence({ declaredTier: 'prepare' }));
    expect([j.recommendation, j.next]).toEqual(['keep', null]);
    expect(j.reasons[0]).toMatch(/the tier the workflow file declares/);
  });

  it('demotes when the current tier’s own evidence fails on enough runs; open incidents demote on any number', () => {
    const low = { tier: 'execute-low' as const };
    const over = judgeAutonomy(evidence({ ...low, kpis: kpis({ finished: 20, verifiedRate: 0.95, decided: 20, overridden: 3, overrideRate: 0.15 }) }));
    expect([over.recommendation, over.lower]).toEqual(['demote', 'prepare']);
    expect(over.reasons[0]).toMatch(/^override rate: 15\.0%/);
    // Too few runs to judge the rates: kept.
    expect(judgeAutonomy(evidence({ ...low, kpis: kpis({ finished: 3, verifiedRate: 0, decided: 3, overridden: 3, overrideRate: 1 }) })).recommendation).toBe('keep');
    expect(judgeAutonomy(evidence({ ...low, kpis: kpis({ finished: 1, verifiedRate: 1 }), openIncidents: 1 })).recommendation).toBe('demote');
    // The lowest tier cannot go lower.
    expect(judgeAutonomy(evidence({ tier: 'assist', openIncidents: 3 })).recommendation).not.toBe('demote');
  });
});

describe('the tier a workflow runs at', () => {
  it('is the declared tier, lowered by the latest change, never raised; an unreadable record fails closed', async () => {
    const { tierAfter } = await import('../../src/gateway/tier.js');
    expect(tierAfter('execute-low', undefined)).toBe('execute-low');
    expect(tierAfter('execute-low', 'prepare')).toBe('prepare');
    expect(tierAfter('execute-low', 'execute-high')).toBe('execute-low');
    expect(tierAfter('execute-high', 'execute-turbo')).toBe('assist');
    expect(tierAfter('execute-high', 7)).toBe('assist');
  });
});
