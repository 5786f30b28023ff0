// Cross-reference checks of a parsed workspace: contracts, connectors, schemas, templates, workflows, owners.
import type { AirlockError } from '../errors.js';
import { OWNER_BOUNDARIES, type OwnerBoundary } from '../types.js';
import { templateVars } from '../util/uri-template.js';
import { schemaProblems } from './contract-schema.js';
import { checkExpose, type ExposedTypes } from './expose-checks.js';
import { checkContractValue, checkValueBudgets } from './value-checks.js';
import { checkWorkflowModel } from './route-checks.js';
import { describeValue, located, type YamlSource } from './issues.js';
import { locate, type PathSegment } from './locate.js';
import type { ConnectorConfig, ToolContract, WorkflowConfig, WorkspaceFile } from './schema.js';
import { compileCel, type CelProgram, type CelResultKind } from '../verification/cel.js';
import { VERIFY_CHECK_VARS } from '../verification/checks.js';
import { RUN_CHECK_VARS } from '../verification/run-checks.js';


/**
 * An irreversible side effect of medium risk is raised to high: what cannot be undone is not
 * medium risk. At tier `execute-high` it then needs step-up approval and a second path; at every
 * tier a justification. Low risk stays low (the owner declared the effect harmless even without an
 * undo), and a tool that is another contract's compensation keeps its risk: it restores the state
 * before an effect, so not being able to undo the undo adds no new exposure.
 */
export function withRaisedRisk<T extends Pick<ToolContract, 'name' | 'effect' | 'risk' | 'irreversible'>>(t: T, compensations: ReadonlySet<string>): T {
  if (!t.irreversible || t.effect === 'read' || compensations.has(t.name) || t.risk !== 'medium') return t;
  return { ...t, risk: 'high' };
}

/** Checks every tool contract against the rest of the workspace; returns the tools by name (first of duplicates; risk raised for irreversible effects). */
export function checkTools(file: WorkspaceFile, src: YamlSource, errors: AirlockError[]): Map<string, ToolContract> {
  const tools = new Map<string, ToolContract>();
  const firstIndex = new Map<string, number>();
  const compensations = new Set(file.tools.flatMap((t) => (t.compensation ? [t.compensation.tool] : [])));
  file.tools.forEach((t, i) => {
    const first = firstIndex.get(t.name);
    if (first !== undefined) {
      const line = locate(src.doc, src.lineCounter, ['tools', first, 'name']).line;
      errors.push(located(src, ['tools', i, 'name'], `duplicate tool \`${t.name}\` (first declared at line ${line})`, 'give each tool contract a unique `name`'));
    } else {
      firstIndex.set(t.name, i);
      tools.set(t.name, withRaisedRisk(t, compensations));
    }
  });
  const connectors = Object.keys(file.connectors);
  const exposedType: ExposedTypes = new Map();
  checkHttpConnectors(file, src, errors);
  /** Per http connector: upstream name → the first tool calling it (one upstream, one request shape). */
  const httpUpstreams = new Map<string, Map<string, ToolContract>>();

  file.tools.forEach((t, i) => {
    const at = (p: readonly PathSegment[], message: string, hint?: string, key = false): void => {
      errors.push(located(src, ['tools', i, ...p], message, hint, key));
    };
    if (!(t.connector in file.connectors)) {
      at(['connector'], `tool \`${t.name}\` uses connector \`${t.connector}\`, which is not declared`, connectors.length > 0 ? `declare it under \`connectors\`, or use one of: ${connectors.map((c) => `\`${c}\``).join(', ')}` : 'declare it under `connectors`');
    }

    // The input schema must be a valid JSON Schema for an object of arguments.
    const schemaOk = checkInputSchema(t, (p, m, h, key) => at(['inputSchema', ...p], m, h, key));
    const props = schemaOk ? propertiesOf(t.inputSchema) : undefined;
    checkHttpTool(t, file.connectors[t.connector], props, httpUpstreams, at);
    checkResourceOrPrompt(t, file.connectors[t.connector], t.inputSchema, props, at);

    checkExpose(t, props, exposedType, at);
    checkContractValue(t, props, at);

    if (t.idempotencyKey !== undefined && props !== undefined) {
      const prop = props[t.idempotencyKey];
      if (prop === undefined || prop['type'] !== 'string') {
        at(
          ['idempotencyKey'],
          `idempotency key argument \`${t.idempotencyKey}\` is not a string property of the \`inputSchema\``,
          `declare \`${t.idempotencyKey}: { type: string }\` under \`inputSchema.properties\` (not required), or name the argument the upstream reads its key from`,
        );
      }
    }

    if (t.compensation) {
      const c = t.compensation;
      const target = tools.get(c.tool);
      if (target === undefined) {
        at(['compensation', 'tool'], `compensation tool \`${c.tool}\` is not declared`, 'declare a contract for it under `tools`, or mark this tool `irreversible: true`');
      } else {
        if (target.effect === 'read') at(['compensation', 'tool'], `compensation tool \`${c.tool}\` is a read tool and cannot undo anything`, 'name the write tool that undoes this one');
        checkCallArgs(target, c.args, ['compensation', 'args'], at);
      }
      checkTemplates(c.args, ['compensation', 'args'], ['$args', '$result'], props, at);
    }

    if (t.verify) {
      const v = t.verify;
      checkProbe('verify', v, tools, ['$args', '$result'], props, at);
      for (const key of Object.keys(v.expect ?? {})) {
        if (!key.startsWith('$probe.') || key.length <= '$probe.'.length) {
          at(['verify', 'expect', key], `expectation key \`${key}\` must be a \`$probe.\` path`, 'name what the probe returned, e.g. `$probe.status`', true);
        }
      }
      if (v.expect) checkTemplates(v.expect, ['verify', 'expect'], ['$args', '$result', '$probe'], props, at);
      if (v.check !== undefined) {
        const c = checkCel(v.check, VERIFY_CHECK_VARS, 'bool', ['verify', 'check'], at);
        for (const f of c?.fields ?? []) {
          if (f.variable === 'args' && props !== undefined && !Object.hasOwn(props, f.field)) {
            at(['verify', 'check'], `\`args.${f.field}\` names no argument of this tool (at column ${f.column} of the expression)`, `use one of: ${Object.keys(props).map((p) => `\`args.${p}\``).join(', ') || 'none'}`);
          }
        }
      }
    }

    if (t.secondPath) {
      const sp = t.secondPath;
      if (sp.probe !== undefined) checkProbe('secondPath', { probe: sp.probe, args: sp.args }, tools, ['$args'], props, at);
      else if (Object.keys(sp.args).length > 0) at(['secondPath', 'args'], 'probe arguments without a `probe`', 'name the read tool under `secondPath.probe`, or remove `args`');
      const c = checkCel(sp.check, sp.probe === undefined ? ['args'] : ['args', 'probe'], 'bool', ['secondPath', 'check'], at);
      for (const f of c?.fields ?? []) {
        if (f.variable === 'args' && props !== undefined && !Object.hasOwn(props, f.field)) {
          at(['secondPath', 'check'], `\`args.${f.field}\` names no argument of this tool (at column ${f.column} of the expression)`, `use one of: ${Object.keys(props).map((p) => `\`args.${p}\``).join(', ') || 'none'}`);
        }
      }
    }

    if (t.preview) {
      // The preview runs before the action: there is no `$result` yet.
      checkProbe('preview', t.preview, tools, ['$args'], props, at);
      const labels = new Map<string, number>();
      t.preview.compare.forEach((row, j) => {
        const first = labels.get(row.label);
        if (first !== undefined) at(['preview', 'compare', j, 'label'], `duplicate preview row \`${row.label}\` (first is row ${first + 1})`, 'give each row its own `label`: the approver tells them apart by it');
        else labels.set(row.label, j);
        checkTemplates(row.proposed, ['preview', 'compare', j, 'proposed'], ['$args', '$probe'], props, at);
        checkTemplates(row.current, ['preview', 'compare', j, 'current'], ['$args', '$probe'], props, at);
      });
    }
  });
  checkValueBudgets(file, tools, (p, m, h, key) => errors.push(located(src, p, m, h, key)));
  return tools;
}

/**
 * A `verify` or `preview` probe is a declared read tool, called with arguments that fit its input
 * schema, whose templates use only `roots` and name only arguments of the tool being checked.
 */
function checkProbe(
  field: 'verify' | 'preview' | 'secondPath',
  spec: { readonly probe: string; readonly args: Record<string, unknown> },
  tools: ReadonlyMap<string, ToolContract>,
  roots: readonly string[],
  props: Record<string, unknown> | undefined,
  at: (p: readonly PathSegment[], message: string, hint?: string, key?: boolean) => void,
): void {
  const what = field === 'verify' ? 'verification probe' : field === 'preview' ? 'preview probe' : 'second-path probe';
  const probe = tools.get(spec.probe);
  if (probe === undefined) {
    at([field, 'probe'], `${what} \`${spec.probe}\` is not declared`, 'declare a contract for it under `tools`');
  } else {
    if (probe.effect !== 'read') at([field, 'probe'], `${what} \`${spec.probe}\` must be a read tool, found effect \`${probe.effect}\``, 'a probe observes ground truth and changes nothing: name a tool with `effect: read`');
    checkCallArgs(probe, spec.args, [field, 'args'], at);
  }
  checkTemplates(spec.args, [field, 'args'], roots, props, at);
}

/**
 * Compiles a CEL expression at workspace load; a syntax or type error is reported at the YAML
 * node, with the column inside the expression. Returns the program when it compiles.
 */
function checkCel(
  source: string,
  vars: readonly string[],
  result: CelResultKind,
  where: readonly PathSegment[],
  at: (p: readonly PathSegment[], message: string, hint?: string) => void,
): CelProgram | undefined {
  const c = compileCel(source, vars, { result });
  if (c.ok) return c.program;
  const pos = c.column === undefined ? '' : ` (at ${c.line !== undefined && c.line > 1 ? `line ${c.line}, ` : ''}column ${c.column} of the expression)`;
  at(where, `invalid CEL: ${c.message}${pos}`, c.hint);
  return undefined;
}

/** Run-level checks: unique names, a probe that is a read tool of the workflow, CEL that compiles. */
function checkRunChecks(
  wf: WorkflowConfig,
  tools: ReadonlyMap<string, ToolContract>,
  at: (p: readonly PathSegment[], message: string, hint?: string, key?: boolean) => void,
): void {
  const names = new Map<string, number>();
  (wf.checks ?? []).forEach((c, i) => {
    const first = names.get(c.name);
    if (first !== undefined) at(['checks', i, 'name'], `duplicate check \`${c.name}\` (first is check ${first + 1})`, 'give each check its own `name`: results and evidence cite it');
    else names.set(c.name, i);
    if (c.when !== undefined) checkCel(c.when, RUN_CHECK_VARS, 'bool', ['checks', i, 'when'], at);
    for (const [arg, source] of Object.entries(c.args)) checkCel(source, RUN_CHECK_VARS, 'any', ['checks', i, 'args', arg], at);
    checkCel(c.expect, c.probe === undefined ? RUN_CHECK_VARS : [...RUN_CHECK_VARS, 'probe'], 'bool', ['checks', i, 'expect'], at);
    if (c.probe === undefined) {
      if (Object.keys(c.args).length > 0) at(['checks', i, 'args'], 'probe arguments without a `probe`', 'name the read tool under `probe`, or remove `args`', true);
      return;
    }
    const probe = tools.get(c.probe);
    if (probe === undefined) {
      at(['checks', i, 'probe'], `check probe \`${c.probe}\` is not declared`, 'declare a contract for it under `tools` in `airlock.yaml`, and list it in this workflow\'s `tools`');
      return;
    }
    if (probe.effect !== 'read') {
      at(['checks', i, 'probe'], `check probe \`${c.probe}\` must be a read tool, found effect \`${probe.effect}\``, 'a probe observes ground truth and changes nothing: name a tool with `effect: read`');
    }
    if (!wf.tools.includes(c.probe)) {
      at(['checks', i, 'probe'], `check probe \`${c.probe}\` is not one of this workflow's tools`, `add \`${c.probe}\` to \`tools\`, or probe with one of its read tools`);
    }
    checkCallArgs(probe, c.args, ['checks', i, 'args'], at, 'a CEL expression like `input.ticket_id`');
  });
}

/** An http connector's `baseUrl` is a bare destination: no user info (credentials), query or fragment. */
function checkHttpConnectors(file: WorkspaceFile, src: YamlSource, errors: AirlockError[]): void {
  for (const [name, c] of Object.entries(file.connectors)) {
    if (c.kind !== 'http') continue;
    let url: URL;
    try {
      url = new URL(c.baseUrl);
    } catch {
      continue; // the schema already reported it
    }
    const where = ['connectors', name, 'baseUrl'];
    if (url.username !== '' || url.password !== '') {
      errors.push(located(src, where, `connector \`${name}\` has credentials in its \`baseUrl\``, 'remove them from the URL and add a header whose value comes from the environment: `headers: { Authorization: { env: NAME, prefix: "Bearer " } }`'));
    }
    if (url.search !== '' || url.hash !== '' || c.baseUrl.includes('?') || c.baseUrl.includes('#')) {
      errors.push(located(src, where, `connector \`${name}\` has a query or fragment in its \`baseUrl\``, 'give the origin and base path only; a tool sends query parameters through `http.query`'));
    }
  }
}

/** One part of an `http.path` template: literal path text, or a `{name}` placeholder for an argument. */
export type PathTemplatePart = { readonly literal: string } | { readonly arg: string };

/**
 * Splits an `http.path` template into literal text and `{name}` placeholders. Returns an error
 * for an empty placeholder or an unmatched brace. Shared by the checks and the http connector.
 */
export function parsePathTemplate(template: string): readonly PathTemplatePart[] | { readonly error: string } {
  const parts: PathTemplatePart[] = [];
  const re = /\{([^{}]*)\}/g;
  let last = 0;
  for (let m = re.exec(template); m !== null; m = re.exec(template)) {
    const literal = template.slice(last, m.index);
    if (/[{}]/.test(literal)) return { error: 'an unmatched `{` or `}`' };
    const arg = m[1] ?? '';
    if (arg === '') return { error: 'an empty placeholder `{}`' };
    if (literal !== '') parts.push({ literal });
    parts.push({ arg });
    last = m.index + m[0].length;
  }
  const rest = template.slice(last);
  if (/[{}]/.test(rest)) return { error: 'an unmatched `{` or `}`' };
  if (rest !== '') parts.push({ literal: rest });
  return parts;
}

/** True for a path segment that URL parsers treat as `.` or `..` (also written with `%2e`). */
export function isDotSegment(segment: string): boolean {
  const s = segment.replace(/%2e/gi, '.');
  return s === '.' || s === '..';
}

/**
 * A tool of an `http` connector declares its request, and only such a tool does; the request
 * names only arguments of the tool and sends every required one.
 */
function checkHttpTool(
  t: ToolContract,
  connector: ConnectorConfig | undefined,
  props: Record<string, unknown> | undefined,
  upstreams: Map<string, Map<string, ToolContract>>,
  at: (p: readonly PathSegment[], message: string, hint?: string, key?: boolean) => void,
): void {
  if (connector === undefined) return;
  if (connector.kind !== 'http') {
    if (t.http) at(['http'], `tool \`${t.name}\` declares an \`http\` request but its connector \`${t.connector}\` is of kind \`${connector.kind}\``, 'remove `http`, or use a connector of kind `http`', true);
    return;
  }
  const spec = t.http;
  if (!spec) {
    at(['connector'], `tool \`${t.name}\` uses http connector \`${t.connector}\` but declares no \`http\` request`, 'add `http: { method: GET, path: /things/{id} }` (and `query` or `body` for the other arguments)');
    return;
  }
  const upstream = t.upstream ?? t.name.slice(t.name.indexOf('.') + 1);
  const byUpstream = upstreams.get(t.connector) ?? new Map<string, ToolContract>();
  upstreams.set(t.connector, byUpstream);
  const first = byUpstream.get(upstream);
  if (first === undefined) byUpstream.set(upstream, t);
  else if (JSON.stringify(first.http) !== JSON.stringify(spec)) {
    at(['http'], `tool \`${t.name}\` and \`${first.name}\` both call upstream \`${upstream}\` of connector \`${t.connector}\` with different requests`, 'give each tool its own `upstream` name (the connector finds the request by that name)', true);
  }

  const placed = new Set<string>();
  const parts = parsePathTemplate(spec.path);
  if ('error' in parts) {
    at(['http', 'path'], `path template \`${spec.path}\` has ${parts.error}`, 'write each placeholder as `{argument}`, naming an argument of the tool');
  } else {
    for (const p of parts) {
      if (!('arg' in p)) continue;
      placed.add(p.arg);
      if (props !== undefined && !Object.hasOwn(props, p.arg)) {
        at(['http', 'path'], `path placeholder \`{${p.arg}}\` is not a property of the tool's \`inputSchema\``, `add \`${p.arg}\` to \`inputSchema.properties\`, or use one of: ${Object.keys(props).map((k) => `\`{${k}}\``).join(', ') || 'none'}`);
      }
    }
    if (spec.path.split('/').some(isDotSegment)) {
      at(['http', 'path'], `path template \`${spec.path}\` has a \`.\` or \`..\` segment`, 'write the path the server expects, without `.` or `..` segments');
    }
  }
  for (const key of ['query', 'body'] as const) {
    spec[key].forEach((arg, j) => {
      placed.add(arg);
      if (props !== undefined && !Object.hasOwn(props, arg)) {
        at(['http', key, j], `${key === 'query' ? 'query parameter' : 'body field'} \`${arg}\` is not a property of the tool's \`inputSchema\``, `add \`${arg}\` to \`inputSchema.properties\`, or remove it from \`http.${key}\``);
      }
    });
  }
  if (spec.method === 'GET' && spec.body.length > 0) {
    at(['http', 'body'], 'a `GET` request cannot have a body', 'send these arguments in `http.query`, or use another method', true);
  }
  if (props !== undefined) {
    const required = Array.isArray(t.inputSchema.required) ? t.inputSchema.required.map(String) : [];
    const unsent = required.filter((r) => !placed.has(r));
    if (unsent.length > 0) {
      at(['http'], `required argument${unsent.length > 1 ? 's' : ''} ${unsent.map((r) => `\`${r}\``).join(', ')} of tool \`${t.name}\` ${unsent.length > 1 ? 'are' : 'is'} not sent in its request`, `place ${unsent.length > 1 ? 'each' : 'it'} in \`http.path\` (as \`{${unsent[0] ?? 'x'}}\`), \`http.query\` or \`http.body\``, true);
    }
  }
}

function checkInputSchema(t: ToolContract, at: (p: readonly PathSegment[], message: string, hint?: string, key?: boolean) => void): boolean {
  const problems = schemaProblems(t.inputSchema);
  for (const p of problems) at(p.path, p.message, p.hint, p.key);
  if (problems.length > 0) return false;
  if (t.inputSchema.type !== 'object') {
    at(['type'], `a tool's \`inputSchema\` must describe an object of arguments, found type ${describeValue(t.inputSchema.type)}`, 'set `type: object` and list the arguments under `properties`');
    return false;
  }
  return true;
}

function propertiesOf(schema: Record<string, unknown>): Record<string, Record<string, unknown>> {
  const props = schema.properties;
  return props !== null && typeof props === 'object' ? (props as Record<string, Record<string, unknown>>) : {};
}

/** Arguments handed to a compensation or probe must fit that tool's input schema's keys. */
function checkCallArgs(
  target: ToolContract,
  args: Record<string, unknown>,
  where: readonly PathSegment[],
  at: (p: readonly PathSegment[], message: string, hint?: string, key?: boolean) => void,
  example?: string,
): void {
  const schema = target.inputSchema;
  const props = propertiesOf(schema);
  const closed = schema.additionalProperties === false;
  for (const k of Object.keys(args)) {
    if (closed && !(k in props)) at([...where, k], `\`${target.name}\` has no argument \`${k}\``, `its arguments are: ${Object.keys(props).map((p) => `\`${p}\``).join(', ') || 'none'}`, true);
  }
  const required = Array.isArray(schema.required) ? schema.required.map(String) : [];
  const absent = required.filter((r) => !(r in args));
  if (absent.length > 0) {
    at(where, `missing required argument${absent.length > 1 ? 's' : ''} ${absent.map((a) => `\`${a}\``).join(', ')} for \`${target.name}\``, `add ${absent.map((a) => `\`${a}\``).join(', ')} (${example ?? `a literal or a template like \`$args.${absent[0] ?? 'x'}\``})`);
  }
}

/** Template strings (`$args.order_id`) must use a known root; `$args.` fields must be arguments of the tool. */
function checkTemplates(
  value: unknown,
  where: readonly PathSegment[],
  roots: readonly string[],
  props: Record<string, unknown> | undefined,
  at: (p: readonly PathSegment[], message: string, hint?: string) => void,
): void {
  if (typeof value === 'string') {
    if (!value.startsWith('$') || value.startsWith('$$')) return;
    const [root = '', field] = value.split('.');
    if (!roots.includes(root)) {
      at(where, `unknown template \`${value}\``, `a template starts with one of ${roots.map((r) => `\`${r}.\``).join(', ')}; write \`$$\` for a literal \`$\``);
    } else if (root === '$args' && props !== undefined && (field === undefined || !(field in props))) {
      at(where, `template \`${value}\` names no argument of this tool`, `use one of: ${Object.keys(props).map((p) => `\`$args.${p}\``).join(', ')}`);
    }
    return;
  }
  if (Array.isArray(value)) value.forEach((v, i) => checkTemplates(v, [...where, i], roots, props, at));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) checkTemplates(v, [...where, k], roots, props, at);
  }
}

/**
 * What a contract lacks to be listed in a workflow at tier `execute-high`: a `high`-risk side effect
 * (risk as `withRaisedRisk` leaves it) needs a `secondPath` and a `verify` probe there. Pure.
 */
export function executeHighGaps(c: Pick<ToolContract, 'effect' | 'risk' | 'secondPath' | 'verify'>): ('secondPath' | 'verify')[] {
  if (c.effect === 'read' || c.risk !== 'high') return [];
  return [...(c.secondPath ? [] : ['secondPath' as const]), ...(c.verify ? [] : ['verify' as const])];
}

/** Checks one workflow against the workspace: tools, agent, model, and the owners rule. */
export function checkWorkflow(
  wf: WorkflowConfig,
  src: YamlSource,
  ws: { file: WorkspaceFile; tools: ReadonlyMap<string, ToolContract>; principals: ReadonlyMap<string, { kind: string }> },
  errors: AirlockError[],
): void {
  const at = (p: readonly PathSegment[], message: string, hint?: string): void => {
    errors.push(located(src, p, message, hint));
  };
  const seen = new Set<string>();
  wf.tools.forEach((tool, i) => {
    if (seen.has(tool)) at(['tools', i], `tool \`${tool}\` is listed twice`, 'remove the duplicate');
    seen.add(tool);
    if (!ws.tools.has(tool)) at(['tools', i], `tool \`${tool}\` has no contract in the workspace`, 'declare it under `tools` in `airlock.yaml`, or remove it from this workflow');
  });
  // INVARIANT: at execute-high, a high-risk side effect runs only with step-up approval AND ground-truth verification.
  if (wf.tier === 'execute-high') {
    wf.tools.forEach((tool, i) => {
      const c = ws.tools.get(tool);
      const gaps = c ? executeHighGaps(c) : [];
      if (c && gaps.includes('secondPath')) {
        at(
          ['tools', i],
          `tool \`${tool}\` is a \`high\`-risk \`${c.effect}\` tool without a second path, which tier \`execute-high\` requires`,
          'declare `secondPath` on its contract (a CEL rule over `args` and a ground-truth probe that must agree before it runs), or run this workflow at `execute-low`',
        );
      }
      if (c && gaps.includes('verify')) {
        at(
          ['tools', i],
          `tool \`${tool}\` is a \`high\`-risk \`${c.effect}\` tool without a verification probe, which tier \`execute-high\` requires`,
          `declare \`verify\` on its contract in \`airlock.yaml\`, or run this workflow at \`execute-low\` (every high-risk action then needs approval)`,
        );
      }
    });
  }
  checkRunChecks(wf, ws.tools, (p, message, hint, key) => errors.push(located(src, p, message, hint, key)));
  const agent = ws.principals.get(wf.agent);
  if (agent === undefined) {
    at(['agent'], `agent \`${wf.agent}\` is not a declared principal`, 'declare it under `identity.principals` with `kind: agent`');
  } else if (agent.kind !== 'agent') {
    at(['agent'], `principal \`${wf.agent}\` is a \`${agent.kind}\`, not an \`agent\``, 'name a principal declared with `kind: agent`');
  }
  // No model: only external agents drive this workflow (`airlock run` says so when asked to).
  checkWorkflowModel(wf, ws.file, at);
  wf.approvals.escalateTo.forEach((b, i) => {
    if (!wf.owners[b]?.trim()) {
      at(['approvals', 'escalateTo', i], `approvals escalate to the \`${b}\` owner, but \`owners.${b}\` is not named`, `name \`owners.${b}\`, or remove \`${b}\` from \`escalateTo\``);
    }
  });
  // INVARIANT: a workflow with an unowned boundary cannot run above the assist tier.
  if (wf.tier !== 'assist') {
    const unowned = OWNER_BOUNDARIES.filter((b: OwnerBoundary) => !wf.owners[b]?.trim());
    if (unowned.length > 0) {
      const list = unowned.map((b) => `\`${b}\``).join(', ');
      at(
        ['owners'],
        `workflow \`${wf.name}\` runs at tier \`${wf.tier}\` but ${unowned.length === 1 ? 'boundary' : 'boundaries'} ${list} ${unowned.length === 1 ? 'has' : 'have'} no owner`,
        `name an owner for ${unowned.map((b) => `\`owners.${b}\``).join(', ')}, or lower \`tier\` to \`assist\``,
      );
    }
  }
}


/**
 * A resource contract's template variables are exactly its required arguments; a prompt's
 * arguments are strings (MCP prompt arguments are); both need an MCP upstream (resources: or a `context` connector).
 */
function checkResourceOrPrompt(
  t: ToolContract,
  connector: WorkspaceFile['connectors'][string] | undefined,
  schema: Record<string, unknown>,
  props: Record<string, unknown> | undefined,
  at: (p: readonly PathSegment[], message: string, hint?: string, key?: boolean) => void,
): void {
  if (!t.resource && !t.prompt) return;
  const field = t.resource ? 'resource' : 'prompt';
  // A `context` connector serves its documents as resources (source-checks.ts checks those).
  if (connector && connector.kind !== 'mcp-stdio' && connector.kind !== 'mcp-http' && !(connector.kind === 'context' && t.resource)) {
    at([field], `\`${field}\` needs an MCP connector${t.resource ? ' (or a `context` connector)' : ''}; \`${t.connector}\` is \`${connector.kind}\``, 'use a tool contract (`http:`) for HTTP APIs');
  }
  if (props === undefined) return;
  const required = Array.isArray(schema['required']) ? (schema['required'] as unknown[]).map(String) : [];
  if (t.resource) {
    const vars = templateVars(t.resource);
    for (const v of vars) {
      if (!(v in props)) at(['resource'], `template variable \`{${v}}\` is not a property of the tool's \`inputSchema\``, `add \`${v}\` to \`inputSchema.properties\` and \`required\``);
      else if (!required.includes(v)) at(['resource'], `template variable \`{${v}}\` must be a required argument`, `add \`${v}\` to \`inputSchema.required\``);
    }
    for (const name of Object.keys(props)) {
      if (!vars.includes(name)) at(['inputSchema', 'properties', name], `argument \`${name}\` does not appear in the resource template \`${t.resource}\``, 'every argument of a resource contract is a template variable', true);
    }
  } else {
    for (const [name, prop] of Object.entries(props)) {
      const type = (prop as { type?: unknown } | null)?.type;
      if (type !== 'string') at(['inputSchema', 'properties', name], `prompt argument \`${name}\` must be a string (MCP prompt arguments are strings)`, 'declare it with `type: string`', true);
    }
  }
}
