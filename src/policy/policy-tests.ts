// Policy tests (like `opa test`): YAML files of requests and the decisions they must get.
// Parsing reports bad files with file:line:col; running a case resolves it the way the gateway would.
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import type { Workspace } from '../config/schema.js';
import { AirlockError, AirlockErrors } from '../errors.js';
import { decideApprover, decideGrant } from './approver.js';
import { APPROVAL_LEVELS, CLASSIFICATIONS, TIERS, TRUST, type Decision, type Labels, type Principal, type PrincipalKind } from '../types.js';
import type { CompiledPolicies, PolicySource } from './compile.js';
import { decide, type PolicyRequest } from './decide.js';
import { resolvePrincipal } from '../identity/principal.js';
import { combinedProvenance, PROVENANCE_LIMITS, type ArgProvenance, type ValueProvenance } from '../context/provenance.js';

const principalRefSchema = z
  .string()
  .regex(/^(?:(?:user|agent|service):)?[a-z][a-z0-9_-]*$/, 'expected a principal like `agent:refund-bot` (or a declared id)');

/** The sources one value was seen in (none: never seen). */
const origins = z.strictObject({ trusted: z.array(z.string().min(1)).default([]), untrusted: z.array(z.string().min(1)).default([]) });

const caseSchema = z.strictObject({
  name: z.string().min(1),
  request: z.strictObject({
    /** `call` (default): may the principal call the tool; `approve`: may this person approve it; `grant`: pre-approve it. */
    action: z.enum(['call', 'approve', 'grant']).default('call'),
    principal: principalRefSchema,
    /** For `approve`: who proposed the action (default: the workflow's agent). */
    requester: principalRefSchema.optional(),
    /** For `approve`: the obligation being approved (default `single`). */
    level: z.enum(APPROVAL_LEVELS).optional(),
    /** For `approve` and `grant`: how the person authenticated (default `local`) and how long ago. */
    auth: z.strictObject({ method: z.enum(['jwt', 'api-key', 'local', 'password', 'slack', 'email-link']).default('local'), ageSeconds: z.number().int().nonnegative().optional() }).optional(),
    /** For `grant`: how long and how many uses (`args` are the grant's bounds). */
    grant: z.strictObject({ durationMinutes: z.number().int().positive(), maxUses: z.number().int().positive().optional() }).optional(),
    onBehalfOf: principalRefSchema.optional(),
    tool: z.string().min(1),
    workflow: z.string().min(1),
    tier: z.enum(TIERS).optional(),
    args: z.record(z.string(), z.unknown()).default({}),
    labels: z
      .strictObject({ classification: z.enum(CLASSIFICATIONS).optional(), trust: z.enum(TRUST).optional() })
      .optional(),
    /**
     * Where each argument came from, as a run would tell policy: the trusted and the untrusted sources it was
     * seen in (none: never seen); for a field exposed as each element of a list, per element (`elements`).
     */
    provenance: z
      .record(
        z.string(),
        origins.extend({ elements: z.array(origins).max(PROVENANCE_LIMITS.maxElements).optional() }).refine((p) => p.elements === undefined || (p.trusted.length === 0 && p.untrusted.length === 0), {
          message: 'give a list field its sources per element (`elements`) or for every element (`trusted`, `untrusted`), not both',
        }),
      )
      .optional(),
  }),
  expect: z
    .strictObject({
      decision: z.enum(['allow', 'deny', 'approval', 'suggest']),
      level: z.enum(APPROVAL_LEVELS).optional(),
      /** Ids that must be among the determining policies. */
      policies: z.array(z.string().min(1)).optional(),
      /** Text that must appear in one of the decision's reasons. */
      reason: z.string().min(1).optional(),
    })
    .refine((e) => e.level === undefined || e.decision === 'approval', {
      message: '`level` only applies to `decision: approval`',
      path: ['level'],
    }),
}).superRefine((c, ctx) => {
  if (c.request.action === 'grant' && !c.request.grant) {
    ctx.addIssue({ code: 'custom', path: ['request', 'grant'], message: '`action: grant` needs `grant: { durationMinutes }`' });
  }
  if (c.request.action !== 'call' && !['allow', 'deny'].includes(c.expect.decision)) {
    ctx.addIssue({ code: 'custom', path: ['expect', 'decision'], message: `\`action: ${c.request.action}\` is decided \`allow\` or \`deny\`` });
  }
});

const fileSchema = z.strictObject({ cases: z.array(caseSchema).min(1) });

/** One parsed test case, with where it was written. */
export type PolicyTestCase = z.infer<typeof caseSchema> & { readonly file: string; readonly line: number };

/** The outcome of one case: pass, or fail with a message saying what differed. */
export interface PolicyTestResult {
  readonly file: string;
  readonly line: number;
  readonly name: string;
  readonly passed: boolean;
  /** The decision the case got (absent when the case could not be evaluated). */
  readonly decision?: Decision;
  /** For a failed case: expected vs. got, with the determining policies and reasons. */
  readonly message?: string;
}

/** All cases of all files, in order, with counts. */
export interface PolicyTestReport {
  readonly results: readonly PolicyTestResult[];
  readonly passed: number;
  readonly failed: number;
}

/**
 * Parses one YAML policy test file. Throws `AirlockErrors` (code `policy`) for invalid YAML or
 * a file that does not have the expected shape, each error with file, line and column.
 */
export function parsePolicyTestFile(source: PolicySource): PolicyTestCase[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source.text, { lineCounter, prettyErrors: false });
  const at = (offset: number): { file: string; line: number; column: number } => {
    const { line, col } = lineCounter.linePos(offset);
    return { file: source.file, line, column: col };
  };
  if (doc.errors.length > 0) {
    throw new AirlockErrors(
      doc.errors.map((e) => new AirlockError('policy', `invalid yaml: ${lowerFirst(e.message.split('\n')[0] ?? '')}`, { location: at(e.pos[0]) })),
    );
  }
  const parsed = fileSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    throw new AirlockErrors(
      parsed.error.issues.map((issue) => {
        const path = issue.path.filter((k): k is string | number => typeof k !== 'symbol');
        return new AirlockError('policy', lowerFirst(issue.message), {
          location: { ...at(offsetOf(doc, path)), path: formatPath(path) },
          hint: 'a policy test file is `cases:` with `name`, `request` and `expect` per case',
        });
      }),
    );
  }
  const errors: AirlockError[] = [];
  const names = new Set<string>();
  const cases = parsed.data.cases.map((c, i) => {
    const line = at(offsetOf(doc, ['cases', i])).line;
    if (names.has(c.name)) {
      errors.push(new AirlockError('policy', `duplicate case name \`${c.name}\``, { location: { ...at(offsetOf(doc, ['cases', i, 'name'])), path: `cases[${i}].name` } }));
    }
    names.add(c.name);
    return { ...c, file: source.file, line };
  });
  if (errors.length > 0) throw new AirlockErrors(errors);
  return cases;
}

/**
 * Runs policy test files against a compiled policy set and the workspace (principals, tools,
 * workflows). All files are parsed first; any bad file throws `AirlockErrors` before a case runs.
 */
export function runPolicyTests(
  compiled: CompiledPolicies,
  workspace: Pick<Workspace, 'file' | 'tools' | 'workflows'>,
  files: readonly PolicySource[],
): PolicyTestReport {
  const all: PolicyTestCase[] = [];
  const errors: AirlockError[] = [];
  for (const f of files) {
    try {
      all.push(...parsePolicyTestFile(f));
    } catch (e) {
      if (e instanceof AirlockErrors) errors.push(...e.errors);
      else throw e;
    }
  }
  if (errors.length > 0) throw new AirlockErrors(errors);
  const results = all.map((c) => runCase(compiled, workspace, c));
  const passed = results.filter((r) => r.passed).length;
  return { results, passed, failed: results.length - passed };
}

/** A report as text: one line per case (`ok` / `FAIL`), failure messages indented, then the totals. */
export function formatPolicyTestReport(report: PolicyTestReport): string {
  const lines = report.results.map((r) => {
    const head = `${r.passed ? 'ok  ' : 'FAIL'} ${r.file}:${r.line} ${r.name}`;
    return r.message ? `${head}\n${indent(r.message, '     ')}` : head;
  });
  lines.push(`${report.passed} passed, ${report.failed} failed`);
  return lines.join('\n');
}

function runCase(
  compiled: CompiledPolicies,
  workspace: Pick<Workspace, 'file' | 'tools' | 'workflows'>,
  c: PolicyTestCase,
): PolicyTestResult {
  const base = { file: c.file, line: c.line, name: c.name };
  const fail = (message: string): PolicyTestResult => ({ ...base, passed: false, message });
  const workflow = workspace.workflows.get(c.request.workflow);
  if (!workflow) {
    return fail(`unknown workflow \`${c.request.workflow}\` (declared: ${[...workspace.workflows.keys()].map((w) => `\`${w}\``).join(', ') || 'none'})`);
  }
  const principal = testPrincipal(workspace, c.request.principal);
  if (typeof principal === 'string') return fail(principal);
  const onBehalfOf = c.request.onBehalfOf === undefined ? undefined : testPrincipal(workspace, c.request.onBehalfOf);
  if (typeof onBehalfOf === 'string') return fail(onBehalfOf);

  const tool = workspace.tools.get(c.request.tool);
  let decision: Decision;
  // The gateway denies an undeclared tool, or one outside the workflow, before policy is asked.
  if (!tool) {
    decision = gatewayDeny(compiled, `tool \`${c.request.tool}\` is not declared in the workspace (deny by default)`);
  } else if (!workflow.tools.includes(tool.name)) {
    decision = gatewayDeny(compiled, `tool \`${tool.name}\` is not part of workflow \`${workflow.name}\``);
  } else {
    const labels: Labels = {
      classification: c.request.labels?.classification ?? 'public',
      trust: c.request.labels?.trust ?? 'trusted',
    };
    const request: PolicyRequest = {
      principal,
      ...(onBehalfOf ? { onBehalfOf } : {}),
      tool,
      workflow: workflow.name,
      tier: c.request.tier ?? workflow.tier,
      args: c.request.args,
      labels,
      ...(c.request.provenance ? { provenance: testProvenance(c.request.provenance) } : {}),
    };
    if (c.request.action === 'call') decision = decide(compiled, request);
    else {
      const auth = { issuer: 'policy-test', subject: principal.id, method: c.request.auth?.method ?? 'local', amr: [], authTime: null } as const;
      const ageSeconds = c.request.auth?.ageSeconds ?? null;
      const eligibility =
        c.request.action === 'approve'
          ? decideApprover(compiled, {
              approver: principal,
              auth,
              authAgeSeconds: ageSeconds,
              tool,
              workflow: workflow.name,
              tier: request.tier,
              args: c.request.args,
              labels,
              requester: c.request.requester ?? `agent:${workflow.agent}`,
              onBehalfOf: onBehalfOf ? `${onBehalfOf.kind}:${onBehalfOf.id}` : null,
              level: c.request.level ?? 'single',
            })
          : decideGrant(compiled, {
              grantor: principal,
              auth,
              authAgeSeconds: ageSeconds,
              tool,
              workflow: workflow.name,
              tier: request.tier,
              boundArgs: c.request.args,
              durationMinutes: c.request.grant?.durationMinutes ?? 0,
              maxUses: c.request.grant?.maxUses ?? null,
            });
      const basis = { policyIds: eligibility.policyIds, policySetHash: compiled.policySetHash, reasons: eligibility.reasons };
      decision = eligibility.allowed ? { kind: 'allow', basis } : { kind: 'deny', basis };
    }
  }
  const problems = compare(compiled, c.expect, decision);
  if (problems.length === 0) return { ...base, passed: true, decision };
  return {
    ...base,
    passed: false,
    decision,
    message: [
      ...problems,
      `determining policies: ${decision.basis.policyIds.map((p) => `\`${p}\``).join(', ') || 'none'}`,
      `reasons: ${decision.basis.reasons.join('; ') || 'none'}`,
    ].join('\n'),
  };
}

function compare(compiled: CompiledPolicies, expect: PolicyTestCase['expect'], got: Decision): string[] {
  const problems: string[] = [];
  const show = (kind: string, level: string | undefined): string => (level ? `${kind} (${level})` : kind);
  const gotLevel = got.kind === 'approval' ? got.level : undefined;
  if (expect.decision !== got.kind || (expect.level !== undefined && expect.level !== gotLevel)) {
    problems.push(`expected ${show(expect.decision, expect.level)}, got ${show(got.kind, gotLevel)}`);
  }
  for (const id of expect.policies ?? []) {
    if (!got.basis.policyIds.includes(id)) {
      problems.push(
        compiled.policies.has(id)
          ? `expected policy \`${id}\` among the determining policies`
          : `expected policy \`${id}\` among the determining policies, but no policy has that id`,
      );
    }
  }
  if (expect.reason !== undefined && !got.basis.reasons.some((r) => r.includes(expect.reason ?? ''))) {
    problems.push(`expected a reason containing \`${expect.reason}\``);
  }
  return problems;
}

function gatewayDeny(compiled: CompiledPolicies, reason: string): Decision {
  return { kind: 'deny', basis: { policyIds: [], policySetHash: compiled.policySetHash, reasons: [reason] } };
}

/** `kind:id` or a declared `id` → a Principal with its declared roles; a string is an error message. */
function testPrincipal(workspace: Pick<Workspace, 'file'>, ref: string): Principal | string {
  const colon = ref.indexOf(':');
  const kind = colon >= 0 ? (ref.slice(0, colon) as PrincipalKind) : undefined;
  const id = colon >= 0 ? ref.slice(colon + 1) : ref;
  const declared = resolvePrincipal(workspace.file.identity.principals, ref);
  if (declared.ok) return declared.principal;
  if (kind === undefined) return `unknown principal \`${ref}\`; write \`kind:id\` (e.g. \`agent:${id}\`) to test an undeclared one`;
  // INVARIANT: an undeclared principal has no roles, so only policies naming it exactly can match.
  return { kind, id, roles: [] };
}

/** The offset of the node at `path`, or of its nearest existing ancestor. */
function offsetOf(doc: Document, path: readonly (string | number)[]): number {
  for (let n = path.length; n >= 0; n--) {
    const node: unknown = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return node.range[0];
  }
  return 0;
}

function formatPath(path: readonly (string | number)[]): string {
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
}

function lowerFirst(s: string): string {
  return s.length > 0 ? s[0]!.toLowerCase() + s.slice(1) : s;
}

function indent(s: string, pad: string): string {
  return s
    .split('\n')
    .map((l) => pad + l)
    .join('\n');
}

/** A case's `provenance` (trusted and untrusted sources per argument, or per element of a list) as a run gives it to policy. */
function testProvenance(
  p: Readonly<Record<string, { readonly trusted: readonly string[]; readonly untrusted: readonly string[]; readonly elements?: readonly { readonly trusted: readonly string[]; readonly untrusted: readonly string[] }[] | undefined }>>,
): Record<string, ArgProvenance> {
  const out: Record<string, ArgProvenance> = {};
  for (const [field, given] of Object.entries(p)) out[field] = given.elements ? combinedProvenance(given.elements.map(valueOrigin)) : valueOrigin(given);
  return out;
}

function valueOrigin({ trusted, untrusted }: { readonly trusted: readonly string[]; readonly untrusted: readonly string[] }): ValueProvenance {
  const sources = [...new Set([...trusted, ...untrusted])];
  return { seen: sources.length > 0, trusted: trusted.length > 0, sources, untrustedSources: [...untrusted] };
}
