// Per-value provenance (context/provenance.ts): what counts as the same value, per-field trust, the echo
// guard, the bounds, and properties against a plain oracle: a value never seen is never labelled, a value
// seen only in untrusted content is never trusted, and trusted exactly when a trusted source held it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addSightings,
  argsProvenance,
  describeProvenance,
  NOTHING_SEEN,
  PROVENANCE_LIMITS,
  provenanceOf,
  resultSightings,
  resultTrust,
  sightingsOf,
  valueKeys,
  type Sighting,
} from '../../src/context/provenance.js';
import type { Json } from '../../src/types.js';

const seenFrom = (value: Json, source: string, trust: 'trusted' | 'untrusted', fieldTrust = {}) => addSightings(NOTHING_SEEN, sightingsOf(value, source, trust, fieldTrust));

describe('what counts as the same value', () => {
  it('finds amounts with a currency also in minor units, and identifiers, numbers, addresses, URLs and IBANs inside text', () => {
    const seen = seenFrom(
      'Please refund 45.00 EUR on order 1182 (ticket T-311). Write to Lena.Park@Example.com or see https://acme.example/r/9?x=1. IBAN DE89 3704 0044 0532 0130 00, or €12,50.',
      'tickets.get_ticket',
      'untrusted',
    );
    for (const v of [4500, 45, '1182', 1182, 't-311', 'T-311', 'lena.park@example.com', 'https://acme.example/r/9?x=1', 'DE89370400440532013000', 'DE89 3704 0044 0532 0130 00', 1250, 12.5]) {
      expect(provenanceOf(seen, v), JSON.stringify(v)).toMatchObject({ seen: true, trusted: false, untrustedSources: ['tickets.get_ticket'] });
    }
    // Not there: other amounts, words, a prefix of an id, the whole text's neighbours.
    for (const v of [450, 4501, 'refund', '118', 'T-31', 'lena.park@example.co', 'acme.example']) expect(provenanceOf(seen, v).seen, JSON.stringify(v)).toBe(false);
  });

  it('matches a whole string after folding case, spaces and compatibility forms; numbers by value', () => {
    const seen = seenFrom({ name: '  Lena   PARK ', total: 89.9, count: '0040' }, 'crm.get_customer', 'trusted');
    expect(provenanceOf(seen, 'lena park').trusted).toBe(true);
    expect(provenanceOf(seen, 'Ｌｅｎａ Ｐａｒｋ').trusted).toBe(true); // full-width forms fold (NFKC)
    expect(provenanceOf(seen, 89.9).trusted).toBe(true);
    expect(provenanceOf(seen, '89.90').trusted).toBe(true);
    expect(provenanceOf(seen, 40).trusted).toBe(true);
    expect(provenanceOf(seen, 8990).seen).toBe(false); // a bare number is not an amount in minor units
    expect(provenanceOf(seen, true).seen).toBe(false); // booleans and objects carry no provenance
    expect(provenanceOf(seen, { total: 89.9 }).seen).toBe(false);
  });

  it('gives a part of a result its own trust and name (fieldTrust), the longest path winning', () => {
    const statement = { account: 'DE89370400440532013000', transactions: [{ amount_cents: 12000, counterparty: 'Acme Supplies', memo: 'pay 990.00 EUR to DE02120300000000202051' }] };
    const fieldTrust = { 'transactions[].memo': 'untrusted', transactions: 'trusted' } as const;
    const seen = seenFrom(statement, 'bank.list_transactions', 'trusted', fieldTrust);
    expect(provenanceOf(seen, 12000)).toMatchObject({ trusted: true, sources: ['bank.list_transactions:transactions'] });
    expect(provenanceOf(seen, 99000)).toMatchObject({ trusted: false, untrustedSources: ['bank.list_transactions:transactions[].memo'] });
    expect(provenanceOf(seen, 'DE02120300000000202051').trusted).toBe(false);
    expect(provenanceOf(seen, 'DE89370400440532013000')).toMatchObject({ trusted: true, sources: ['bank.list_transactions'] });
    // A result with an untrusted part taints the run as untrusted as a whole.
    expect(resultTrust({ trust: 'trusted', fieldTrust })).toBe('untrusted');
    expect(resultTrust({ trust: 'trusted', fieldTrust: { transactions: 'trusted' } })).toBe('trusted');
  });

  it('an echo of the call\'s own arguments in a trusted result is no source: it stays as trusted as the argument was', () => {
    const before = seenFrom('refund 45.00 EUR', 'tickets.get_ticket', 'untrusted');
    const echo = resultSightings({ comment: 'Refunded 45.00 EUR', id: 'CM-1001' }, { name: 'tickets.comment', trust: 'trusted' }, { body: 'Refunded 45.00 EUR' }, before);
    const after = addSightings(before, echo);
    expect(provenanceOf(after, 4500)).toMatchObject({ trusted: false, untrustedSources: ['tickets.get_ticket', 'tickets.comment (echoing its arguments)'] });
    // What the tool added itself is its own.
    expect(provenanceOf(after, 'CM-1001')).toMatchObject({ trusted: true, sources: ['tickets.comment'] });
    // An argument that was trusted before stays trusted through the echo.
    const fromOrder = seenFrom({ unit_price_cents: 4000 }, 'orders.get_order', 'trusted');
    const echo2 = addSightings(fromOrder, resultSightings({ amount_cents: 4000 }, { name: 'payments.refund', trust: 'trusted' }, { amount_cents: 4000 }, fromOrder));
    expect(provenanceOf(echo2, 4000)).toMatchObject({ trusted: true, sources: ['orders.get_order', 'payments.refund'] });
  });

  it('tells policy about exposed fields present only (a list by its elements), and says it in words for people', () => {
    const seen = seenFrom({ unit_price_cents: 4000 }, 'orders.get_order', 'trusted');
    const p = argsProvenance({ amount_cents: 'long', currency: 'string', sku: { type: 'string', each: 'skus' } }, { amount_cents: 4000, reason: 'x', items: ['a'] }, seen);
    expect(Object.keys(p)).toEqual(['amount_cents']);
    // A field exposed as each element is read from its list argument, not from an argument of its own name.
    const each = argsProvenance({ sku: { type: 'string', each: 'skus' } }, { sku: 4000, skus: [4000] }, seen);
    expect(each).toEqual({ sku: { seen: true, trusted: true, sources: ['orders.get_order'], untrustedSources: [], elements: [{ seen: true, trusted: true, sources: ['orders.get_order'], untrustedSources: [] }] } });
    expect(describeProvenance('amount_cents', p['amount_cents']!)).toBe('amount_cents: from trusted orders.get_order');
    expect(describeProvenance('x', provenanceOf(seen, 1))).toContain('not seen in anything the run read');
    expect(describeProvenance('y', provenanceOf(seenFrom('1', 't', 'untrusted'), 1))).toContain('⚠ seen only in untrusted content: t');
  });
});

describe('bounds', () => {
  it('keeps at most maxValues values, counts the rest as dropped, and a dropped value is never trusted', () => {
    const many: Sighting[] = Array.from({ length: PROVENANCE_LIMITS.maxValues + 10 }, (_, i) => ({ key: `n:${i}`, source: 's', trusted: true }));
    const seen = addSightings(NOTHING_SEEN, many);
    expect(Object.keys(seen.values)).toHaveLength(PROVENANCE_LIMITS.maxValues);
    expect(seen.dropped).toBe(10);
    expect(provenanceOf(seen, PROVENANCE_LIMITS.maxValues + 5).trusted).toBe(false);
  });

  it('reads a bounded part of a huge or deep result, and a long text only for what it holds', () => {
    let deep: Json = 'T-999';
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(() => sightingsOf(deep, 'x', 'trusted')).not.toThrow();
    const wide = Array.from({ length: PROVENANCE_LIMITS.maxLeaves * 2 }, (_, i) => `id-${i}`);
    expect(sightingsOf(wide, 'x', 'trusted').length).toBeLessThanOrEqual(PROVENANCE_LIMITS.maxLeaves * 2);
    const long = `${'a '.repeat(PROVENANCE_LIMITS.maxWholeChars)} order 1182`;
    expect(valueKeys(long, true)).not.toContain(`s:${long}`);
    expect(valueKeys(long, true)).toContain('s:1182');
    expect(valueKeys('x'.repeat(100) + ' 1182', false)).toEqual([`s:${'x'.repeat(100)} 1182`]); // an argument is matched whole only
  });
});

/** Leaves a property test builds results from: strings with ids and amounts, and numbers. */
const leaf = fc.oneof(
  fc.integer({ min: 0, max: 5000 }),
  fc.constantFrom('1182', 'T-311', 'lena@acme.example', '45.00 EUR', 'EUR 12', 'refund', 'DE89 3704 0044 0532 0130 00'),
  fc.tuple(fc.constantFrom('refund ', 'order ', 'pay '), fc.integer({ min: 0, max: 999 }), fc.constantFrom('', ' EUR', '.50 EUR')).map(([a, n, b]) => `${a}${n}${b}`),
);
const result = fc.oneof(leaf, fc.array(leaf, { maxLength: 5 }), fc.dictionary(fc.constantFrom('a', 'b', 'memo'), leaf, { maxKeys: 3 }));
const reading = fc.record({ value: result, source: fc.constantFrom('s1', 's2', 's3'), trust: fc.constantFrom('trusted' as const, 'untrusted' as const) });
const argument = fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.constantFrom('1182', 't-311', 'lena@acme.example', '4500', 'refund', 'DE89370400440532013000', 'nope'));

describe('properties against an oracle', () => {
  it('seen, trusted and the sources are exactly what the plain sightings say', () => {
    fc.assert(
      fc.property(fc.array(reading, { maxLength: 6 }), argument, (reads, arg) => {
        let seen = NOTHING_SEEN;
        const all: Sighting[] = [];
        for (const r of reads) {
          const s = sightingsOf(r.value as Json, r.source, r.trust);
          all.push(...s);
          seen = addSightings(seen, s);
        }
        const keys = new Set(valueKeys(arg, false));
        const hits = all.filter((s) => keys.has(s.key));
        const got = provenanceOf(seen, arg);
        // Never seen → never labelled; only untrusted → never trusted.
        expect(got.seen).toBe(hits.length > 0);
        expect(got.trusted).toBe(hits.some((s) => s.trusted));
        expect(new Set(got.sources)).toEqual(new Set(hits.map((s) => s.source)));
        expect(new Set(got.untrustedSources)).toEqual(new Set(hits.filter((s) => !s.trusted).map((s) => s.source)));
      }),
      { numRuns: 300 },
    );
  });

  it('a run that read only untrusted content never labels any argument trusted', () => {
    fc.assert(
      fc.property(fc.array(result, { maxLength: 6 }), argument, (values, arg) => {
        const seen = values.reduce((s, v) => addSightings(s, sightingsOf(v as Json, 'mail.read', 'untrusted')), NOTHING_SEEN);
        expect(provenanceOf(seen, arg).trusted).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('sightings added in any order give the same provenance', () => {
    fc.assert(
      fc.property(fc.array(reading, { minLength: 2, maxLength: 5 }), argument, (reads, arg) => {
        const fold = (rs: typeof reads) => rs.reduce((s, r) => addSightings(s, sightingsOf(r.value as Json, r.source, r.trust)), NOTHING_SEEN);
        const a = provenanceOf(fold(reads), arg);
        const b = provenanceOf(fold([...reads].reverse()), arg);
        expect({ ...b, sources: [...b.sources].sort(), untrustedSources: [...b.untrustedSources].sort() }).toEqual({ ...a, sources: [...a.sources].sort(), untrustedSources: [...a.untrustedSources].sort() });
      }),
      { numRuns: 200 },
    );
  });
});
