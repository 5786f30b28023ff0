// Context benchmarks: the cost of per-value provenance. Matching a proposed action's arguments against
// what a run has seen (issue #13's target: under 50 µs p99 with 1,000 values seen), and reading a tool
// result's values into the run (the cost paid once per result).
import { addSightings, argsProvenance, NOTHING_SEEN, sightingsOf, type SeenValues } from '../src/context/provenance.js';
import type { Json } from '../src/types.js';
import { sized, timeCalls, type BenchOptions, type BenchResult } from './harness.js';

const SUITE = 'context';
const TARGET_P99_US = 50;

const FULL = { calls: 20_000, values: 1000 };
const SMOKE = { calls: 200, values: 1000 };

/** An order-like record with `n` line items: ids, amounts, names, an address, a customer's note. */
function orderRecord(i: number, n: number): Json {
  return {
    id: String(1000 + i),
    customer: { id: `C-${2000 + i}`, email: `customer${i}@example.com`, iban: `DE89 3704 0044 0532 ${String(1000 + i).padStart(4, '0')} 00` },
    total_cents: 1000 + i * 7,
    currency: 'EUR',
    items: Array.from({ length: n }, (_, k) => ({ sku: `SKU-${i}-${k}`, name: `Item ${k} of order ${i}`, unit_price_cents: 100 * k + i })),
    note: `Customer wrote: please refund ${i}.50 EUR to order ${1000 + i}, see https://example.com/r/${i}`,
  };
}

/** A run that has read results until it holds about `values` distinct values. */
function runHaving(values: number): { seen: SeenValues; results: number } {
  let seen = NOTHING_SEEN;
  let i = 0;
  while (Object.keys(seen.values).length < values) {
    seen = addSightings(seen, sightingsOf(orderRecord(i, 4), i % 3 === 0 ? 'tickets.get_ticket' : 'orders.get_order', i % 3 === 0 ? 'untrusted' : 'trusted'));
    i++;
  }
  return { seen, results: i };
}

export async function run(opts?: BenchOptions): Promise<readonly BenchResult[]> {
  const size = sized(opts, FULL, SMOKE);
  const { seen, results } = runHaving(size.values);
  const expose = { order_id: 'long', amount_cents: 'long', currency: 'string', iban: 'string', to: 'string' };
  const args = { order_id: '1013', amount_cents: 1350, currency: 'EUR', iban: 'DE89370400440532101300', to: 'customer13@example.com', reason: 'free text the agent wrote' };
  const failures: string[] = [];
  const p = argsProvenance(expose, args, seen);
  // The match must be right before its speed means anything.
  if (!p['iban']?.trusted || !p['to']?.trusted || !p['amount_cents']?.trusted || !p['order_id']?.trusted) failures.push(`unexpected provenance: ${JSON.stringify(p)}`);
  const match = await timeCalls(() => argsProvenance(expose, args, seen), size.calls);
  const record = orderRecord(7, 20);
  const read = await timeCalls(() => sightingsOf(record, 'orders.get_order', 'trusted'), Math.max(50, size.calls / 10));
  const stateBytes = Buffer.byteLength(JSON.stringify(seen));
  return [
    {
      suite: SUITE,
      name: `match 5 arguments against ${Object.keys(seen.values).length.toLocaleString('en-US')} values seen`,
      metrics: { p50_us: match.p50, p99_us: match.p99, mean_us: match.mean, samples: match.samples },
      notes: [
        `target: p99 under ${TARGET_P99_US} µs with 1,000 values seen: ${match.p99 < TARGET_P99_US ? 'met' : 'MISSED'}${opts?.smoke ? ' (smoke: means nothing)' : ''}`,
        `the run read ${results} results to see them; kept in its state as ${(stateBytes / 1024).toFixed(1)} KiB of fingerprints`,
      ],
      failures,
    },
    {
      suite: SUITE,
      name: 'read a 20-item order record into the run',
      metrics: { p50_us: read.p50, p99_us: read.p99, mean_us: read.mean, samples: read.samples },
    },
  ];
}
