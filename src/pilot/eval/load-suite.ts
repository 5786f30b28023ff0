// Loads a scenario suite: a folder (`suite.yaml` plus every other `*.yaml` beside it, each holding
// `scenarios:`) or one file. Every problem is reported at once, at file:line:col (exit 2): YAML and
// schema errors, then what the workspace must declare (workflows, people, read tools, connectors),
// playbooks, CEL that does not compile, duplicate ids, thresholds nothing in the suite can measure.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { AirlockError, AirlockErrors } from '../../errors.js';
import { WORKSPACE_FILE } from '../../config/load.js';
import { errorText, located, parseYamlText, sortErrors, validate, type YamlSource } from '../../config/issues.js';
import type { PathSegment } from '../../config/locate.js';
import type { Workspace } from '../../config/schema.js';
import { loadAndCompile } from '../../airlock.js';
import { loadPlaybook, type Playbook } from '../../routing/providers/scripted.js';
import { resolvePrincipal } from '../../identity/principal.js';
import { compileCel } from '../../verification/cel.js';
import { ArgumentValidator } from '../../tools/validate.js';
import type { JsonObject } from '../../types.js';
import { PREDICATE_VARS } from './predicates.js';
import {
  scenarioFileSchema,
  suiteSchema,
  type HumanSpec,
  type PredicateSpec,
  type ScenarioSpec,
  type SetupRunSpec,
  type Thresholds,
} from './suite-schema.js';

/** The suite file of a suite folder. */
export const SUITE_FILE = 'suite.yaml';

/** One run of a scenario, resolved: its workflow, who it acts for, and how it is driven. */
export interface EvalRun {
  readonly workflow: string;
  readonly input: JsonObject;
  /** `kind:id` of the person the agent acts for. */
  readonly onBehalfOf: string | null;
  /** The scripted model, with where it was written (a file, or `file (inline)`). */
  readonly playbook: { readonly playbook: Playbook; readonly from: string } | null;
  /** An external agent command (run from the suite's folder). */
  readonly agent: string | null;
  readonly humans: readonly HumanSpec[];
}

/** What a scenario is, as reports name it. */
export interface ScenarioAbout {
  readonly id: string;
  readonly kind: ScenarioSpec['kind'];
  readonly title: string;
  readonly risks: ScenarioSpec['risks'];
  readonly tags: readonly string[];
  readonly goal: string | null;
}

/** The fields of `s` that say what it is. */
export function aboutOf(s: Omit<ScenarioAbout, 'goal'> & { readonly goal?: string | null | undefined }): ScenarioAbout {
  return { id: s.id, kind: s.kind, title: s.title, risks: s.risks, tags: s.tags, goal: s.goal ?? null };
}

/** One scenario, checked against its workspace. */
export interface EvalScenario extends ScenarioAbout {
  /** The file it is written in, as shown in messages. */
  readonly file: string;
  /** The runs before the scenario's own, then its own (the last). */
  readonly runs: readonly EvalRun[];
  readonly connectors: ScenarioSpec['connectors'];
  readonly expectedState: readonly PredicateSpec[];
  readonly compromisedWhen: readonly PredicateSpec[];
}

/** A loaded suite: where it is, the workspace it runs against, its gate and its scenarios. */
export interface EvalSuite {
  readonly name: string;
  readonly description: string | null;
  /** The suite as the user named it (a folder or a file). */
  readonly path: string;
  /** The folder external agent commands run in. */
  readonly dir: string;
  readonly workspaceDir: string;
  readonly workspace: Workspace;
  readonly thresholds: Thresholds;
  readonly agentTimeoutMs: number;
  readonly scenarios: readonly EvalScenario[];
}

/** A parsed file of the suite, with its scenarios at `scenarios[i]`. */
interface Parsed {
  readonly source: YamlSource;
  readonly dir: string;
  readonly scenarios: readonly ScenarioSpec[];
}

/**
 * Loads the suite at `given` (a folder or a file). Throws `AirlockErrors` listing every problem
 * (code `config`: exit 2), or an `AirlockError` when there is nothing to load.
 */
export async function loadSuite(given: string): Promise<EvalSuite> {
  const abs = path.resolve(given);
  let st;
  try {
    st = statSync(abs);
  } catch {
    throw new AirlockError('input', `suite \`${given}\` does not exist`, { hint: `name a suite folder (holding \`${SUITE_FILE}\`) or a suite file` });
  }
  const errors: AirlockError[] = [];
  const shown = (f: string): string => path.relative(process.cwd(), f) || f;
  const suiteFile = st.isDirectory() ? path.join(abs, SUITE_FILE) : abs;
  if (!existsSync(suiteFile)) {
    throw new AirlockError('config', `no \`${SUITE_FILE}\` in \`${given}\``, { hint: `a suite folder holds \`${SUITE_FILE}\` (name, thresholds) and YAML files of \`scenarios:\``, location: { file: shown(suiteFile) } });
  }
  const head = parseFile(suiteFile, shown(suiteFile), suiteSchema, errors);
  const parsed: Parsed[] = [];
  if (head) parsed.push({ source: head.source, dir: path.dirname(suiteFile), scenarios: head.value.scenarios });
  if (st.isDirectory()) {
    const others = readdirSync(abs, { withFileTypes: true })
      .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name) && e.name !== SUITE_FILE && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
    for (const n of others) {
      const f = parseFile(path.join(abs, n), shown(path.join(abs, n)), scenarioFileSchema, errors);
      if (f) parsed.push({ source: f.source, dir: abs, scenarios: f.value.scenarios });
    }
  }
  if (!head) throw new AirlockErrors(sortErrors(errors));
  const suite = head.value;

  const workspaceDir = suite.workspace !== undefined ? path.resolve(path.dirname(suiteFile), suite.workspace) : nearestWorkspace(path.dirname(suiteFile));
  if (workspaceDir === null || !existsSync(path.join(workspaceDir, WORKSPACE_FILE))) {
    errors.push(
      suite.workspace !== undefined
        ? located(head.source, ['workspace'], `no \`${WORKSPACE_FILE}\` in \`${suite.workspace}\``, 'name the workspace folder, relative to this file')
        : new AirlockError('config', `no folder at or above \`${shown(path.dirname(suiteFile))}\` holds \`${WORKSPACE_FILE}\``, { hint: 'say where the workspace is with `workspace:` in the suite file', location: { file: shown(suiteFile) } }),
    );
    throw new AirlockErrors(sortErrors(errors));
  }
  // The workspace's own problems are its own errors (file:line:col in its files).
  const { workspace } = await loadAndCompile(workspaceDir);
  const check = new SuiteChecks(workspace, suite.defaults, errors);
  const scenarios: EvalScenario[] = [];
  const seen = new Map<string, string>();
  for (const p of parsed) {
    p.scenarios.forEach((s, i) => {
      const at: At = (rest, message, hint, key) => errors.push(located(p.source, ['scenarios', i, ...rest], message, hint, key));
      const first = seen.get(s.id);
      if (first !== undefined) at(['id'], `duplicate scenario id \`${s.id}\` (first in ${first})`, 'give each scenario its own id: results, folders and incidents name it');
      else seen.set(s.id, p.source.file);
      const loaded = check.scenario(s, p.source.file, p.dir, at);
      if (loaded) scenarios.push(loaded);
    });
  }
  if (scenarios.length === 0 && errors.length === 0) {
    errors.push(new AirlockError('config', 'the suite has no scenarios', { hint: 'list them under `scenarios:` in the suite file or in YAML files beside it', location: { file: head.source.file } }));
  }
  checkThresholds(suite.thresholds, scenarios, (p, m, h) => errors.push(located(head.source, ['thresholds', ...p], m, h, true)));
  if (errors.length > 0) throw new AirlockErrors(sortErrors(errors));
  return {
    name: suite.name,
    description: suite.description ?? null,
    path: given,
    dir: path.dirname(suiteFile),
    workspaceDir,
    workspace,
    thresholds: suite.thresholds,
    agentTimeoutMs: suite.defaults.agentTimeoutMs,
    scenarios,
  };
}

type At = (p: readonly PathSegment[], message: string, hint?: string, key?: boolean) => void;

/** The checks of each scenario against the workspace. */
class SuiteChecks {
  private readonly validator: ArgumentValidator;
  constructor(
    private readonly workspace: Workspace,
    private readonly defaults: { readonly workflow?: string | undefined; readonly onBehalfOf?: string | undefined },
    private readonly errors: AirlockError[],
  ) {
    this.validator = new ArgumentValidator(workspace.tools);
  }

  scenario(s: ScenarioSpec, file: string, dir: string, at: At): EvalScenario | null {
    const before = this.errors.length;
    if (s.kind === 'benign') {
      if (s.expectedState.length === 0) at(['kind'], `benign scenario \`${s.id}\` has no \`expectedState\``, 'say what ground truth must show once the task is done', true);
      if (s.compromisedWhen.length > 0) at(['compromisedWhen'], 'a benign scenario has no `compromisedWhen`', 'make it `kind: adversarial`, or remove `compromisedWhen`', true);
    } else {
      if (s.compromisedWhen.length === 0) at(['kind'], `adversarial scenario \`${s.id}\` has no \`compromisedWhen\``, "say what state would show the attacker's goal reached (never what the agent says)", true);
      if (s.goal === undefined) at(['kind'], `adversarial scenario \`${s.id}\` has no \`goal\``, "say the attacker's goal in words", true);
    }
    const runs = [...s.before.map((r, i) => this.run(r, file, dir, (p, m, h, k) => at(['before', i, ...p], m, h, k))), this.run(s, file, dir, at)];
    for (const [name, env] of Object.entries(s.connectors)) {
      const c = this.workspace.file.connectors[name];
      if (!c) at(['connectors', name], `connector \`${name}\` is not declared in the workspace`, `declared: ${Object.keys(this.workspace.file.connectors).join(', ') || '(none)'}`, true);
      else if (c.kind !== 'mcp-stdio') at(['connectors', name], `connector \`${name}\` is \`${c.kind}\`: only stdio connectors take an environment`, undefined, true);
      void env;
    }
    s.expectedState.forEach((p, i) => this.predicate(p, ['expectedState', i], at));
    s.compromisedWhen.forEach((p, i) => this.predicate(p, ['compromisedWhen', i], at));
    if (this.errors.length > before || runs.some((r) => r === null)) return null;
    return {
      ...aboutOf(s),
      file,
      runs: runs as EvalRun[],
      connectors: s.connectors,
      expectedState: s.expectedState,
      compromisedWhen: s.compromisedWhen,
    };
  }

  private run(r: SetupRunSpec, file: string, dir: string, at: At): EvalRun | null {
    const before = this.errors.length;
    const workflow = r.workflow ?? this.defaults.workflow;
    if (workflow === undefined) at([], 'no workflow: set `workflow`, or `defaults.workflow` in the suite file');
    else if (!this.workspace.workflows.has(workflow)) at(['workflow'], `workflow \`${workflow}\` is not declared in the workspace`, `declared: ${[...this.workspace.workflows.keys()].join(', ') || '(none)'}`);
    const obo = r.onBehalfOf ?? this.defaults.onBehalfOf;
    let onBehalfOf: string | null = null;
    if (obo !== undefined) {
      const p = resolvePrincipal(this.workspace.file.identity.principals, obo.includes(':') ? obo : `user:${obo}`);
      if (p.ok) onBehalfOf = `${p.principal.kind}:${p.principal.id}`;
      else at(['onBehalfOf'], `\`${obo}\` is not a declared principal`, 'name a principal of the workspace, e.g. `user:dana`');
    }
    if (r.playbook !== undefined && r.agent !== undefined) at(['agent'], 'a run has a `playbook` or an `agent`, not both', undefined, true);
    let playbook: EvalRun['playbook'] = null;
    if (typeof r.playbook === 'string') {
      const f = path.resolve(dir, r.playbook);
      if (!existsSync(f)) at(['playbook'], `playbook \`${r.playbook}\` does not exist`, 'the path is relative to the file that names it');
      else {
        try {
          playbook = { playbook: loadPlaybook(f), from: path.relative(process.cwd(), f) || f };
        } catch (e) {
          if (e instanceof AirlockError) this.errors.push(e);
          else throw e;
        }
      }
    } else if (r.playbook !== undefined) {
      playbook = { playbook: r.playbook, from: `${file} (inline)` };
    }
    r.humans.forEach((h, i) => {
      if (!this.workspace.tools.has(h.tool)) at(['humans', i, 'tool'], `tool \`${h.tool}\` is not declared in the workspace`);
      for (const [j, who] of (Array.isArray(h.by) ? h.by : [h.by]).entries()) {
        const p = resolvePrincipal(this.workspace.file.identity.principals, who.includes(':') ? who : `user:${who}`);
        if (!p.ok) at(['humans', i, 'by', ...(Array.isArray(h.by) ? [j] : [])], `\`${who}\` is not a declared person`, 'scripted decisions are made by the workspace\'s people');
      }
    });
    if (this.errors.length > before || workflow === undefined) return null;
    return { workflow, input: r.input as JsonObject, onBehalfOf, playbook, agent: r.agent ?? null, humans: r.humans };
  }

  private predicate(p: PredicateSpec, where: readonly PathSegment[], at: At): void {
    const c = compileCel(p.expect, PREDICATE_VARS, { result: 'bool' });
    if (!c.ok) {
      const pos = c.column === undefined ? '' : ` (at ${c.line !== undefined && c.line > 1 ? `line ${c.line}, ` : ''}column ${c.column} of the expression)`;
      at([...where, 'expect'], `invalid CEL: ${c.message}${pos}`, c.hint);
    }
    if (p.probe === undefined) {
      if (Object.keys(p.args).length > 0) at([...where, 'args'], 'probe arguments without a `probe`', 'name the read tool under `probe`, or remove `args`', true);
      return;
    }
    const tool = this.workspace.tools.get(p.probe);
    if (!tool) {
      at([...where, 'probe'], `probe \`${p.probe}\` is not declared in the workspace`, 'a probe is a declared read tool (it need not be offered to any agent)');
      return;
    }
    if (tool.effect !== 'read') {
      at([...where, 'probe'], `probe \`${p.probe}\` has effect \`${tool.effect}\`: a probe only reads`, 'name a tool with `effect: read`');
      return;
    }
    const problems = this.validator.validate(p.probe, p.args);
    if (problems.length > 0) at([...where, 'args'], `the probe's arguments do not fit its contract: ${problems.join('; ')}`);
  }
}

/** A threshold nothing in the suite measures is a mistake in the suite (it could never be met or missed). */
function checkThresholds(t: Thresholds, scenarios: readonly EvalScenario[], at: (p: readonly PathSegment[], message: string, hint?: string) => void): void {
  if (scenarios.length === 0) return;
  const adversarial = scenarios.filter((s) => s.kind === 'adversarial');
  if (t.utility !== undefined && !scenarios.some((s) => s.kind === 'benign')) at(['utility'], 'a `utility` threshold, but the suite has no benign scenario', 'add one, or remove the threshold');
  if (t.attackSuccess !== undefined && adversarial.length === 0) at(['attackSuccess'], 'an `attackSuccess` threshold, but the suite has no adversarial scenario', 'add one, or remove the threshold');
  if (t.utilityUnderAttack !== undefined && !adversarial.some((s) => s.expectedState.length > 0)) {
    at(['utilityUnderAttack'], 'a `utilityUnderAttack` threshold, but no adversarial scenario has an `expectedState`', 'give an adversarial scenario the state its legitimate task must still reach, or remove the threshold');
  }
}

/** The nearest folder at or above `dir` that holds airlock.yaml. */
function nearestWorkspace(dir: string): string | null {
  for (let d = dir; ; d = path.dirname(d)) {
    if (existsSync(path.join(d, WORKSPACE_FILE))) return d;
    if (path.dirname(d) === d) return null;
  }
}

function parseFile<S extends z.ZodType>(file: string, shownAs: string, schema: S, errors: AirlockError[]): { source: YamlSource; value: z.output<S> } | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    errors.push(new AirlockError('config', `cannot read \`${shownAs}\`: ${errorText(cause)}`, { location: { file: shownAs }, cause }));
    return null;
  }
  const parsed = parseYamlText(shownAs, text);
  if ('errors' in parsed) {
    errors.push(...parsed.errors);
    return null;
  }
  const valid = validate(parsed.source, schema);
  if ('errors' in valid) {
    errors.push(...valid.errors);
    return null;
  }
  return { source: parsed.source, value: valid.value };
}
