// The package as a consumer gets it: `airlock` resolves through `exports` to the built dist/ (run `npm run build` first), with exactly the public API.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AIRLOCK_ROOT } from '../../src/util/package-root.js';

const run = promisify(execFile);
const BUILT = path.join(AIRLOCK_ROOT, 'dist/src/index.js');

/** The values `import { ... } from 'airlock'` gives; adding or removing one is a deliberate change to this list. */
const VALUES = [
  'AirlockError',
  'AirlockErrors',
  'formatError',
  'governOpenAIAgentsTool',
  'governTool',
  'governVercelAITool',
  'loadAndCompile',
  'localApprover',
  'localDecisionPoint',
  'openAirlock',
  'remoteDecisionPoint',
  'signWebhook',
  'verifyWebhookSignature',
  'vote',
];

/** The types it declares besides. */
const TYPES = [
  'AgentsFunctionToolLike',
  'AiToolLike',
  'Airlock',
  'ApprovalEvent',
  'ApprovalId',
  'ApprovalLevel',
  'ApprovalRecord',
  'Approver',
  'ApproverAuth',
  'AuthorizeOptions',
  'AuthorizeResult',
  'Basis',
  'CloseResult',
  'Decision',
  'DecisionPoint',
  'ErrorCode',
  'GovernAgentsToolOptions',
  'Governed',
  'GovernedAiTool',
  'GovernedTool',
  'Grant',
  'Json',
  'JsonObject',
  'LocalDecisionPointOptions',
  'OpenOptions',
  'Principal',
  'Refusal',
  'RefusalStatus',
  'RemoteDecisionPointOptions',
  'ReportResult',
  'ReportedOutcome',
  'RunId',
  'RunStatus',
  'SignatureCheck',
  'SignatureFailure',
  'VerifyWebhookInput',
  'VoteOutcome',
];

beforeAll(() => {
  if (!existsSync(BUILT)) throw new Error(`\`${BUILT}\` does not exist: run \`npm run build\` first`);
});

describe("the package 'airlock'", () => {
  it('node resolves it from the package root to the built dist/src/index.js, with exactly the public values; deeper paths are closed', async () => {
    const script = `
      const api = await import('airlock');
      const deep = await import('airlock/dist/src/errors.js').then(() => 'opened', (err) => err.code);
      const header = api.signWebhook('s3cret', 1700000000, '{"a":1}');
      console.log(JSON.stringify({
        resolved: import.meta.resolve('airlock'),
        names: Object.keys(api).sort(),
        functions: Object.values(api).every((v) => typeof v === 'function'),
        deep,
        signature: api.verifyWebhookSignature({ secret: 's3cret', header, body: '{"a":1}', nowSeconds: 1700000010 }),
        error: new api.AirlockError('input', 'bad').isUserError,
      }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: AIRLOCK_ROOT, timeout: 60_000 });
    expect(JSON.parse(stdout)).toEqual({
      resolved: pathToFileURL(BUILT).href,
      names: VALUES,
      functions: true,
      deep: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
      signature: { ok: true },
      error: true,
    });
  });

  it('its built declarations export exactly the public names, and a strict consumer compiles against them', () => {
    const consumer = path.join(AIRLOCK_ROOT, '__consumer__.ts');
    const text = [
      `import { ${VALUES.join(', ')}, ${TYPES.map((t) => `type ${t}`).join(', ')} } from 'airlock';`,
      'export async function embed(dir: string): Promise<Governed<number>> {',
      '  const airlock: Airlock = await openAirlock(dir);',
      "  const dp: DecisionPoint = localDecisionPoint(airlock, { agent: 'agent:bot' });",
      "  const add = governTool(dp, 'app.add', ({ x }: { readonly x: number }) => x + 1);",
      '  const result = await add({ x: 1 });',
      '  if (!result.ok) { const status: RefusalStatus = result.status; void status; }',
      "  const [pending] = await airlock.store.listApprovals({ status: 'pending' });",
      "  if (pending) { const outcome: VoteOutcome = await vote(airlock.approvalDeps, pending.id, localApprover(airlock.principal('user:robin')), 'approve', null); void outcome; }",
      '  await airlock.close();',
      '  return result;',
      '}',
      '',
    ].join('\n');
    const options: ts.CompilerOptions = {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2023.d.ts'],
      types: ['node'],
      strict: true,
      verbatimModuleSyntax: true,
      skipLibCheck: true,
      noEmit: true,
    };
    const host = ts.createCompilerHost(options);
    const { getSourceFile, fileExists, readFile } = host;
    host.getSourceFile = (file, lang, ...rest) => (file === consumer ? ts.createSourceFile(file, text, lang) : getSourceFile.call(host, file, lang, ...rest));
    host.fileExists = (file) => file === consumer || fileExists.call(host, file);
    host.readFile = (file) => (file === consumer ? text : readFile.call(host, file));
    const program = ts.createProgram([consumer], options, host);
    const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(problems).toEqual([]);
    const resolved = ts.resolveModuleName('airlock', consumer, options, host).resolvedModule?.resolvedFileName;
    expect(resolved).toBe(path.join(AIRLOCK_ROOT, 'dist/src/index.d.ts'));
    const checker = program.getTypeChecker();
    const module = checker.getSymbolAtLocation(program.getSourceFile(resolved!)!)!;
    expect(checker.getExportsOfModule(module).map((s) => s.name).sort()).toEqual([...VALUES, ...TYPES].sort());
  });

  it('npm packs every file main, types, exports and bin name, and no workspace state', async () => {
    // State a run leaves in an example (the audit key is a secret) must never be published.
    const state = path.join(AIRLOCK_ROOT, 'examples/sdk-agent/.airlock');
    const probe = path.join(state, `pack-probe-${process.pid}.key`);
    const created = !existsSync(state);
    mkdirSync(state, { recursive: true });
    writeFileSync(probe, 'not for publishing');
    try {
      const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: AIRLOCK_ROOT, timeout: 120_000 });
      const packed = new Set((JSON.parse(stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path));
      const manifest = JSON.parse(readFileSync(path.join(AIRLOCK_ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
      const named = [manifest['main'], manifest['types'], ...Object.values(manifest['bin'] as object), ...targets(manifest['exports'])].map((p) => path.posix.normalize(String(p)));
      expect(named).toContain('dist/src/index.js');
      expect(named).toContain('dist/src/index.d.ts');
      expect(named.filter((p) => !packed.has(p))).toEqual([]);
      expect([...packed].filter((p) => p.includes('.airlock/'))).toEqual([]);
    } finally {
      rmSync(probe, { force: true });
      // The folder this test created goes too, unless something else wrote there meanwhile.
      if (created && readdirSync(state).length === 0) rmdirSync(state);
    }
  });

  describe('in vitest, as a test imports it by name', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'airlock-public-api-'));
    cpSync(path.join(AIRLOCK_ROOT, 'examples/sdk-agent'), dir, { recursive: true, filter: (src) => !src.includes(`${path.sep}.airlock`) });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('is the same built module, with exactly the public values', async () => {
      const api = await import('airlock');
      expect(Object.keys(api).sort()).toEqual(VALUES);
      const built = (await import(pathToFileURL(path.join(AIRLOCK_ROOT, 'dist/src/errors.js')).href)) as { AirlockError: unknown };
      expect(api.AirlockError).toBe(built.AirlockError);
    });

    it('governs in-process tools end to end: the read runs, the delete is denied and does not run, the run completes', async () => {
      const { governTool, localDecisionPoint, openAirlock } = await import('airlock');
      const airlock = await openAirlock(dir);
      try {
        const dp = localDecisionPoint(airlock, { agent: 'agent:billing-bot' });
        const ran: string[] = [];
        const lookup = governTool(dp, 'app.lookup_invoice', (args: { readonly invoice_id: string }) => {
          ran.push(`lookup ${args.invoice_id}`);
          return { invoice_id: args.invoice_id, status: 'paid' };
        });
        const remove = governTool(dp, 'app.delete_account', (args: { readonly customer_id: string }) => {
          ran.push(`delete ${args.customer_id}`);
          return { deleted: true };
        });
        expect(await lookup({ invoice_id: 'INV-1001' })).toEqual({ ok: true, value: { invoice_id: 'INV-1001', status: 'paid' } });
        expect(await remove({ customer_id: 'C-7' })).toMatchObject({ ok: false, status: 'denied', policyIds: ['no-account-deletion'] });
        expect(ran).toEqual(['lookup INV-1001']);
        expect(await dp.close()).toMatchObject({ status: 'completed' });
      } finally {
        await airlock.close();
      }
    });
  });
});

/** Every path an `exports` value names, through conditions and subpaths. */
function targets(exports: unknown, depth = 0): string[] {
  if (depth > 8) throw new Error('package.json `exports` nests deeper than 8 levels');
  if (typeof exports === 'string') return [exports];
  if (exports === null || typeof exports !== 'object') return [];
  return Object.values(exports).flatMap((v) => targets(v, depth + 1));
}
