// A governed tool call vs a direct MCP SDK call to the same stdio server, side by side in one run.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import path from 'node:path';
import { openAirlock } from '../src/airlock.js';
import { AIRLOCK_ROOT } from '../src/util/package-root.js';
import type { RunId } from '../src/types.js';
import { sized, timeCalls, type BenchOptions, type BenchResult } from './harness.js';
import { acmeCopy } from './workspace.js';

/** Calls per side, and warm-up calls per round (4 rounds). */
const FULL = { calls: 2000, warmup: 200 };
const SMOKE = { calls: 20, warmup: 2 };

/** Runs the comparison: the direct client and Airlock each call `orders.get_order` the same number of times. */
export async function run(opts?: BenchOptions): Promise<readonly BenchResult[]> {
  const size = sized(opts, FULL, SMOKE);
  const ws = acmeCopy('bench-gw');
  try {
    const { dir, acmeDb: db } = ws;
    const server = path.join(AIRLOCK_ROOT, 'dist', 'src', 'demo', 'acme', 'server.js');

    const client = new Client({ name: 'bench', version: '1' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [server, 'orders', '--db', db], stderr: 'ignore' }));
    const direct = () => client.callTool({ name: 'get_order', arguments: { order_id: '1182' } });

    const airlock = await openAirlock(dir);
    const workflow = airlock.workspace.workflows.get('refund-desk');
    if (!workflow) throw new Error('refund-desk workflow missing');
    const ctx = {
      runId: 'run_bench' as RunId,
      workflow,
      principal: airlock.principal('agent:refund-bot'),
      labels: { classification: 'public', trust: 'trusted' } as const,
      step: 0,
    };
    const governed = async () => {
      const out = await airlock.gateway.propose(ctx, { tool: 'orders.get_order', args: { order_id: '1182' } });
      if (out.kind !== 'executed') throw new Error(`governed call not executed: ${out.kind}`);
    };
    // Interleave rounds so both see the same machine noise.
    const rounds = 4;
    const d: number[] = [];
    const g: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const a = await timeCalls(direct, size.calls / rounds, size.warmup);
      const b = await timeCalls(governed, size.calls / rounds, size.warmup);
      d.push(a.p50, a.p99);
      g.push(b.p50, b.p99);
    }
    const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;
    const dp50 = med(d.filter((_, i) => i % 2 === 0));
    const dp99 = med(d.filter((_, i) => i % 2 === 1));
    const gp50 = med(g.filter((_, i) => i % 2 === 0));
    const gp99 = med(g.filter((_, i) => i % 2 === 1));
    await airlock.close();
    await client.close();
    return [
      { suite: 'gateway', name: 'direct MCP SDK call (orders.get_order)', metrics: { p50_us: dp50, p99_us: dp99 } },
      {
        suite: 'gateway',
        name: 'through Airlock (validate + Cedar + durable audit + call)',
        metrics: { p50_us: gp50, p99_us: gp99, added_p50_us: gp50 - dp50, ratio_p50: gp50 / dp50 },
        notes: ['target: under 1 ms added at p50; the added time includes two durable (fsync) audit commits per call'],
      },
    ];
  } finally {
    ws.cleanup();
  }
}
