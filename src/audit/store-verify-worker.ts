// A verifier thread of store-verify.ts: opens the store's range reader (the module its `AuditRangeReaderSpec` names,
// on a connection of its own), then reads and scans the ranges it is sent (store-scan.ts), answering each with its scan.
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { rangeScanTools } from './native-scan.js';
import { scanAuditRange, type AuditRangeReader, type AuditRangeReaderSpec, type AuditRangeScan } from './store-scan.js';

/** A range to read and scan. */
export interface RangeJob {
  readonly id: number;
  readonly fromSeq: number;
  readonly count: number;
  readonly wantSeq: number;
  readonly wantChain: string;
  /** Send the range's leaf hashes too (read in the scan's snapshot), for the checkpoints. */
  readonly leaves: boolean;
}

/** The answer to a job, or why there is none (the caller then scans that range itself). */
export type RangeAnswer = { readonly id: number; readonly scan: AuditRangeScan; readonly leaves?: Uint8Array | null } | { readonly id: number; readonly error: string };

/** What the thread is started with: how it reads ranges, and whether it may use the C scan. */
export interface WorkerData {
  readonly spec: AuditRangeReaderSpec;
  readonly native: boolean;
}

/** What the thread says once its reader is open (or failed to open). */
export type WorkerState = { readonly ready: true } | { readonly ready: false; readonly error: string };

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) return;
  const { spec, native } = workerData as WorkerData;
  let reader: AuditRangeReader;
  try {
    const mod = (await import(pathToFileURL(spec.module).href)) as { openAuditRanges(init: unknown): AuditRangeReader | Promise<AuditRangeReader> };
    reader = await mod.openAuditRanges(spec.init);
  } catch (e) {
    port.postMessage({ ready: false, error: (e as Error).message } satisfies WorkerState);
    return;
  }
  const tools = rangeScanTools(native);
  port.on('message', (job: RangeJob) => {
    void (async () => {
      try {
        const withLeaves = job.leaves && reader.scanLeaves ? await reader.scanLeaves(job.fromSeq, job.count, job.wantSeq, job.wantChain, native) : null;
        const decided = withLeaves ? withLeaves.scan : native && reader.scan ? await reader.scan(job.fromSeq, job.count, job.wantSeq, job.wantChain) : null;
        const scan = decided ?? scanAuditRange(await reader.read(job.fromSeq, job.count), job.fromSeq, job.wantSeq, job.wantChain, tools);
        port.postMessage({ id: job.id, scan, ...(withLeaves ? { leaves: withLeaves.leaves } : {}) } satisfies RangeAnswer);
      } catch (e) {
        port.postMessage({ id: job.id, error: (e as Error).message } satisfies RangeAnswer);
      }
    })();
  });
  port.postMessage({ ready: true } satisfies WorkerState);
}

void main();
