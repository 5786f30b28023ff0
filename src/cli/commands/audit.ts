// `airlock audit`: verify the trail (the store's, or an export offline with the log's public key and a
// witness), export it with its signed checkpoints, make and list checkpoints, print the log's key, and
// prove a record's inclusion or two checkpoints' consistency. Exit 1 when something does not verify,
// 2 for bad input.
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { AirlockError } from '../../errors.js';
import type { ReportLine } from '../../audit/trail-check.js';
import { parseSignerKey, parseVerifierKey, signerKeyText, type NoteVerifier } from '../../audit/signed-note.js';
import { workspaceRunner, type WorkspaceCommandHelpers } from './open-workspace.js';
import { green, red, yellow } from '../render.js';

/** What the audit commands need beyond a workspace. */
export interface AuditCommandHelpers extends WorkspaceCommandHelpers {
  /** Refuses (exit 2) a file to write whose folder is missing or that is a folder. */
  readonly checkOutFile: (option: string, file: string) => void;
}

/** Whether `p` names a file (not a folder). */
function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The audit key file given with --audit-key: 32 bytes, as `.airlock/audit.key` holds it. */
async function auditKeyArg(file: string): Promise<Uint8Array> {
  if (!isFile(file)) throw new AirlockError('input', `--audit-key \`${file}\` is not a file`, { hint: "name the workspace's .airlock/audit.key" });
  const key = await readFile(file);
  if (key.length !== 32) throw new AirlockError('input', `--audit-key: the file holds ${key.length} bytes; an audit key is 32`, { location: { file }, hint: "name the workspace's .airlock/audit.key" });
  return key;
}

/** A verifier key given on the command line: the key text itself, or a file holding it. */
async function verifierArg(value: string): Promise<NoteVerifier> {
  const direct = parseVerifierKey(value);
  if (!('problem' in direct)) return direct;
  if (!isFile(value)) {
    throw new AirlockError('input', `--key \`${value}\` is neither a verifier key nor a file: ${direct.problem}`, { hint: 'pass the file `airlock audit key --out FILE` wrote, or its one line' });
  }
  const text = (await readFile(value, 'utf8')).split('\n').find((l) => l.trim() !== '') ?? '';
  const key = parseVerifierKey(text);
  if ('problem' in key) throw new AirlockError('input', `--key: the file does not hold a verifier key: ${key.problem}`, { location: { file: value }, hint: 'a verifier key reads `name+hash+key` (`airlock audit key`)' });
  return key;
}

/** Prints report lines (audit/trail-check.ts: the console shows the same) in colour; false when one failed. */
function printReport(lines: readonly ReportLine[], out: (s: string) => void): boolean {
  for (const l of lines) out(l.kind === 'error' ? red(l.text) : l.kind === 'warn' ? yellow(l.text) : l.text.replace(/^ok:/, `${green('ok')}:`));
  return !lines.some((l) => l.kind === 'error');
}

function positive(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[1-9]\d{0,15}$/.test(v)) throw new AirlockError('input', `${name} \`${v}\` is not a positive whole number`);
  return Number(v);
}

/** The newest note a file witness holds (`--witness FILE`), read through audit/witness.ts. */
async function witnessedNote(file: string | undefined): Promise<string | undefined> {
  if (file === undefined) return undefined;
  const { latestWitnessed } = await import('../../audit/witness.js');
  return (await latestWitnessed(file)).note;
}

/** Adds `audit verify|export|checkpoint|checkpoints|key|prove` to `program`. */
export function registerAuditCommands(program: Command, h: AuditCommandHelpers): void {
  const { out } = h;
  const withAirlock = workspaceRunner(h);
  const audit = program.command('audit').description('verify, export and prove the tamper-evident audit trail (hash chain, signed Merkle checkpoints, witnesses)');

  audit
    .command('verify')
    .description("check the hash chain and the signed checkpoints: names the first record changed, removed, inserted or reordered; with --export, an exported file offline (with --key, the log's public key)")
    .option('--export <file>', 'verify an export (`airlock audit export`) instead of the store: no workspace needed')
    .option('--key <vkey|file>', "the log's verifier key (`airlock audit key`): checks the signed checkpoints")
    .option('--witness <file>', 'a file witness: the trail must hold its latest checkpoint as a prefix')
    .option('--proof <file>', 'check a proof from `airlock audit prove` (needs --key)')
    .option('--audit-key <file>', "with --export: the workspace's .airlock/audit.key, to check the payloads it keyed (confidential data) against their HMACs")
    .action(async (o: { export?: string; key?: string; witness?: string; proof?: string; auditKey?: string }) => {
      const key = o.key !== undefined ? await verifierArg(o.key) : undefined;
      if (o.proof !== undefined) {
        if (!key) throw new AirlockError('input', '--proof needs --key: a proof is only as good as the key that signed its checkpoints');
        const { checkProof } = await import('../../audit/proofs.js');
        const text = await readFile(o.proof, 'utf8').catch((e: Error) => {
          throw new AirlockError('input', `cannot read --proof: ${e.message}`, { location: { file: o.proof ?? '' } });
        });
        let doc: unknown;
        try {
          doc = JSON.parse(text);
        } catch {
          throw new AirlockError('input', '--proof is not JSON', { location: { file: o.proof } });
        }
        const res = checkProof(doc, key);
        out(res.ok ? `${green('ok')}: ${res.message}` : red(`FAILED: ${res.message}`));
        if (!res.ok) process.exitCode = 1;
        return;
      }
      const witnessed = await witnessedNote(o.witness);
      if (o.export !== undefined) {
        if (!isFile(o.export)) throw new AirlockError('input', `--export \`${o.export}\` ${existsSync(o.export) ? 'is not a file' : 'does not exist'}`, { hint: 'name a file `airlock audit export --out` wrote' });
        const { verifyExportFile } = await import('../../audit/verify-export.js');
        if (witnessed !== undefined && !key) throw new AirlockError('input', '--witness needs --key: the witnessed checkpoint is checked against the signed ones');
        const auditKey = o.auditKey === undefined ? undefined : await auditKeyArg(o.auditKey);
        const v = await verifyExportFile(o.export, { ...(key ? { key } : {}), ...(witnessed !== undefined ? { witnessed } : {}), ...(auditKey ? { auditKey } : {}) });
        const { chainLines, checkpointLines, endLines, payloadLines } = await import('../../audit/trail-check.js');
        if (!printReport(chainLines(v.chain), out)) {
          process.exitCode = 1;
          return;
        }
        printReport(payloadLines(v.chain.payloads), out);
        if (!v.checkpoints) {
          out(yellow(`${v.checkpointLines} signed checkpoints not checked: pass --key with the log's verifier key (without it, a cut tail or a rewritten chain cannot be seen)`));
          return;
        }
        const checkpointsHold = printReport(checkpointLines(v.checkpoints), out);
        const endHolds = v.end === null || printReport(endLines(v.end), out);
        if (!checkpointsHold || !endHolds) process.exitCode = 1;
        return;
      }
      await withAirlock(async (a) => {
        const { verifyTrail, trailReport, witnessFileNotes } = await import('../../audit/trail-check.js');
        // The workspace's file witnesses are checked too: the newest checkpoint each holds.
        const files = await witnessFileNotes(a.workspace.dir, a.workspace.file.audit.witnesses);
        const notes = [...(witnessed !== undefined ? [witnessed] : []), ...files.notes];
        const report = trailReport(await verifyTrail(a.store, key ?? a.checkpoints.verifier, notes, files.missing));
        if (!printReport(report.lines, out)) process.exitCode = 1;
      });
    });

  audit
    .command('export')
    .description('write the audit trail as JSON Lines, ending with its signed checkpoints (one made now): verifiable offline with `audit verify --export FILE --key KEY`')
    .option('--out <file>', 'write to a file instead of stdout')
    .option('--with-payloads', 'include stored payloads (arguments and results)')
    .action(async (o: { out?: string; withPayloads?: boolean }) => {
      if (o.out !== undefined) h.checkOutFile('--out', o.out);
      await withAirlock(async (a) => {
        const { exportStore } = await import('../../audit/log.js');
        const { checkpointedExport } = await import('../../audit/trail-check.js');
        const n = await exportStore(a.store, o.out ?? null, { payloads: Boolean(o.withPayloads), ...(await checkpointedExport(a.store, a.checkpoints)) });
        if (o.out) out(`${green('ok')}: ${n} records written to ${o.out}`);
      });
    });

  audit
    .command('checkpoint')
    .description('make a signed checkpoint of the whole trail now (and send it to the witnesses)')
    .action(async () => {
      await withAirlock(async (a) => {
        const c = await a.checkpoints.checkpoint();
        out(c ? `${green('ok')}: checkpoint of ${c.size} records, tree head ${c.rootHash}, made ${c.time}\n\n${c.note}` : yellow('the trail is empty: nothing to checkpoint'));
      });
    });

  audit
    .command('checkpoints')
    .description('list the signed checkpoints, newest first')
    .option('--limit <n>', 'at most this many', '20')
    .action(async (o: { limit: string }) => {
      const limit = positive('--limit', o.limit) as number;
      await withAirlock(async (a) => {
        const list = await a.store.listCheckpoints({ limit: Math.min(limit, 10_000) });
        if (list.length === 0) out(yellow('no signed checkpoint yet'));
        for (const c of list) out(`${String(c.size).padStart(10)}  ${c.time}  ${c.rootHash}`);
      });
    });

  audit
    .command('key')
    .description("print the log's verifier key (give it to whoever verifies exports); --new prints a fresh signer key to keep as a secret shared by instances")
    .option('--out <file>', 'write the verifier key to a file')
    .option('--new <name>', 'make a new signer key for log NAME (prints PRIVATE+KEY..., then the verifier key)')
    .action(async (o: { out?: string; new?: string }) => {
      if (o.new !== undefined) {
        const text = safeKeyText(o.new);
        const signer = parseSignerKey(text);
        if ('problem' in signer) throw new AirlockError('input', `--new: ${signer.problem}`);
        out(text);
        process.stderr.write(`verifier key: ${signer.verifier.text}\n`);
        return;
      }
      if (o.out !== undefined) h.checkOutFile('--out', o.out);
      await withAirlock(async (a) => {
        const text = a.checkpoints.verifier.text;
        if (o.out === undefined) return out(text);
        await writeFile(o.out, `${text}\n`, { mode: 0o644 });
        out(`${green('ok')}: verifier key ${text} written to ${o.out}`);
      });
    });

  audit
    .command('prove')
    .description('prove a record is in a signed checkpoint (--record SEQ [--size N]), or that one checkpoint is a prefix of a later one (--from N [--to M])')
    .option('--record <seq>', 'the record to prove')
    .option('--size <n>', 'the checkpoint to prove it in (default: the latest)')
    .option('--from <n>', 'the earlier checkpoint (its size)')
    .option('--to <n>', 'the later checkpoint (default: the latest)')
    .option('--out <file>', 'write the proof to a file (JSON) instead of stdout')
    .action(async (o: { record?: string; size?: string; from?: string; to?: string; out?: string }) => {
      const record = positive('--record', o.record);
      const from = positive('--from', o.from);
      if ((record === undefined) === (from === undefined)) throw new AirlockError('input', 'give either --record SEQ or --from N', { hint: 'airlock audit prove --record 42, or --from 1000 --to 2000' });
      if (o.out !== undefined) h.checkOutFile('--out', o.out);
      await withAirlock(async (a) => {
        const { proveConsistency, proveInclusion } = await import('../../audit/proofs.js');
        const doc = record !== undefined ? await proveInclusion(a.store, record, positive('--size', o.size)) : await proveConsistency(a.store, from as number, positive('--to', o.to));
        const text = `${JSON.stringify(doc, null, 2)}\n`;
        if (o.out === undefined) return out(text.trimEnd());
        await writeFile(o.out, text);
        out(`${green('ok')}: ${doc.kind} proof written to ${o.out}; check it with \`airlock audit verify --proof ${o.out} --key KEY\``);
      });
    });
}

/** A fresh signer key's text for log `name` (exit 2 for a name C2SP does not allow). */
function safeKeyText(name: string): string {
  try {
    return signerKeyText(name, randomBytes(32));
  } catch (e) {
    throw new AirlockError('input', `--new \`${name}\`: ${(e as Error).message}`, { hint: 'a log name has no spaces and no `+`, e.g. `airlock.example.com/refunds`' });
  }
}
