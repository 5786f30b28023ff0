// Loads a workspace folder: parses airlock.yaml and the files it points to, reports every problem at once.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { AirlockError, AirlockErrors } from '../errors.js';
import { identityIssues } from '../identity/config-check.js';
import { checkTools, checkWorkflow } from './checks.js';
import { checkRoutes } from './route-checks.js';
import { checkSources } from './source-checks.js';
import { checkPilot } from './pilot-checks.js';
import { errorText, located, parseYamlText, sortErrors, validate, type YamlSource } from './issues.js';
import type { PathSegment } from './locate.js';
import { workflowSchema, workspaceSchema, type WorkflowConfig, type Workspace } from './schema.js';

/** The file that makes a folder a workspace. */
export const WORKSPACE_FILE = 'airlock.yaml';

/**
 * Loads and validates the workspace in `dir`: `airlock.yaml`, its workflow files, its policy
 * sources and policy test file list, with every cross-reference checked.
 * Throws `AirlockError` (code `config`) when there is no `airlock.yaml`, and `AirlockErrors`
 * listing every problem found (each with file, line, column and path) when the files are invalid.
 * Reads only; never writes.
 */
export async function loadWorkspace(dir: string): Promise<Workspace> {
  const absDir = path.resolve(dir);
  const shown = (rel: string): string => path.join(dir, rel);
  const mainFile = shown(WORKSPACE_FILE);

  let text: string;
  try {
    text = await readFile(path.join(absDir, WORKSPACE_FILE), 'utf8');
  } catch (cause) {
    if (isNotFound(cause)) {
      throw new AirlockError('config', `no \`${WORKSPACE_FILE}\` in \`${dir}\``, {
        hint: 'run `airlock validate` in a folder that holds `airlock.yaml`, or pass that folder as an argument',
        location: { file: mainFile },
        cause,
      });
    }
    throw new AirlockError('config', `cannot read \`${mainFile}\`: ${errorText(cause)}`, { location: { file: mainFile }, cause });
  }

  const main = parseYamlText(mainFile, text);
  if ('errors' in main) throw new AirlockErrors(main.errors);
  const src = main.source;
  const parsed = validate(src, workspaceSchema);
  if ('errors' in parsed) {
    // Cross-references need a valid airlock.yaml, but the path lists and the workflow files
    // can still be checked on their own, so one run reports as much as it can.
    const errors = [...parsed.errors];
    const raw = (src.value ?? {}) as Record<string, unknown>;
    const list = (key: string): string[] => {
      const v = raw[key];
      return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : [];
    };
    for (const rel of await expandAll(absDir, src, 'workflows', list('workflows'), errors)) {
      const wf = await loadWorkflowFile(absDir, rel, shown(rel));
      if ('errors' in wf) errors.push(...wf.errors);
    }
    await expandAll(absDir, src, 'policies', list('policies'), errors);
    await expandAll(absDir, src, 'policyTests', list('policyTests'), errors);
    throw new AirlockErrors(sortErrors(errors));
  }
  const file = parsed.value;
  const errors: AirlockError[] = [];
  const at = (p: readonly PathSegment[], message: string, hint?: string, key = false): void => {
    errors.push(located(src, p, message, hint, key));
  };

  // Paths and globs.
  const workflowFiles = await expandAll(absDir, src, 'workflows', file.workflows, errors);
  const policyFiles = await expandAll(absDir, src, 'policies', file.policies, errors);
  const policyTestFiles = await expandAll(absDir, src, 'policyTests', file.policyTests, errors);

  // The workspace file's own cross-references.
  const tools = checkTools(file, src, errors);
  for (const i of identityIssues(file)) at(i.path, i.message, i.hint);
  const principals = new Map<string, { kind: string; index: number }>();
  file.identity.principals.forEach((p, i) => {
    if (principals.has(p.id)) at(['identity', 'principals', i, 'id'], `duplicate principal \`${p.id}\``, 'give each principal a unique `id`');
    else principals.set(p.id, { kind: p.kind, index: i });
  });
  checkRoutes(file, at);
  checkSources(file, at);
  // A Slack user or a mailbox stands for a declared person: a click by them, a link sent there, is theirs.
  const person = (ref: string) => principals.get(ref.slice('user:'.length))?.kind === 'user';
  const hint = 'name a principal of kind `user` from `identity.principals`';
  for (const [slackUser, ref] of Object.entries(file.notifications.slack?.people ?? {})) {
    if (!person(ref)) at(['notifications', 'slack', 'people', slackUser], `Slack user \`${slackUser}\` stands for \`${ref}\`, who is not a declared person`, hint);
  }
  if (file.notifications.email && !file.server.publicUrl) {
    at(['notifications', 'email'], 'approval emails link to the console, but `server.publicUrl` is not set', 'set `server.publicUrl` to the address people reach this server at, e.g. `https://airlock.acme.example`');
  }
  const mailboxes = new Map<string, string>();
  for (const [ref, address] of Object.entries(file.notifications.email?.people ?? {})) {
    if (!person(ref)) at(['notifications', 'email', 'people', ref], `\`${ref}\` is mailed approval requests, but is not a declared person`, hint, true);
    // A link proves only that its holder reads the mailbox: one mailbox, one person (four eyes stay two people).
    const other = mailboxes.get(address.toLowerCase());
    if (other) at(['notifications', 'email', 'people', ref], `\`${ref}\` and \`${other}\` share the mailbox \`${address}\`: whoever reads it could decide as either`, 'give each person a mailbox of their own');
    else mailboxes.set(address.toLowerCase(), ref);
  }
  for (const [modelName, route] of Object.entries(file.models)) {
    if (route.kind === 'scripted' && !(await isFile(path.resolve(absDir, route.playbook)))) {
      at(['models', modelName, 'playbook'], `playbook \`${route.playbook}\` does not exist`, `create \`${shown(route.playbook)}\` or fix the path (it is relative to the workspace folder)`);
    }
    if (route.kind !== 'scripted' && route.apiKey && 'file' in route.apiKey && !(await isFile(path.resolve(absDir, route.apiKey.file)))) {
      at(['models', modelName, 'apiKey', 'file'], `API key file \`${route.apiKey.file}\` does not exist`, 'write the key alone in that file (mode 600), or read it from the environment with `apiKey: { env: NAME }`');
    }
  }

  // Workflow files, each validated and checked against the workspace.
  const workflows = new Map<string, WorkflowConfig>();
  const workflowFileOf = new Map<string, string>();
  for (const rel of workflowFiles) {
    const loaded = await loadWorkflowFile(absDir, rel, shown(rel));
    if ('errors' in loaded) {
      errors.push(...loaded.errors);
      continue;
    }
    const { value: wf, source: wfSrc } = loaded;
    const before = workflowFileOf.get(wf.name);
    if (before !== undefined) {
      errors.push(located(wfSrc, ['name'], `duplicate workflow \`${wf.name}\` (also defined in \`${shown(before)}\`)`, 'give each workflow a unique `name`'));
      continue;
    }
    checkWorkflow(wf, wfSrc, { file, tools, principals }, errors);
    checkPilot(wf, principals, (p, message, hint, key) => errors.push(located(wfSrc, p, message, hint, key)));
    if (wf.pilot?.baseline.csv !== undefined && !(await isFile(path.resolve(absDir, wf.pilot.baseline.csv)))) {
      errors.push(located(wfSrc, ['pilot', 'baseline', 'csv'], `baseline file \`${wf.pilot.baseline.csv}\` does not exist`, 'give the path of a CSV of past cases, relative to the workspace folder'));
    }
    workflows.set(wf.name, wf);
    workflowFileOf.set(wf.name, rel);
  }

  const policySources: { file: string; text: string }[] = [];
  for (const rel of policyFiles) {
    try {
      policySources.push({ file: rel, text: await readFile(path.join(absDir, rel), 'utf8') });
    } catch (cause) {
      errors.push(new AirlockError('config', `cannot read \`${shown(rel)}\`: ${errorText(cause)}`, { location: { file: shown(rel) }, cause }));
    }
  }

  if (errors.length > 0) throw new AirlockErrors(sortErrors(errors));

  return deepFreeze({
    dir: absDir,
    file,
    workflows: readonlyMap(workflows),
    tools: readonlyMap(tools),
    policySources,
    policyTestFiles,
    workflowFiles: readonlyMap(workflowFileOf),
  }) as Workspace;
}

/** Reads, parses and validates one workflow file (no cross-references). */
async function loadWorkflowFile(absDir: string, rel: string, shownAs: string): Promise<{ value: WorkflowConfig; source: YamlSource } | { errors: AirlockError[] }> {
  let text: string;
  try {
    text = await readFile(path.join(absDir, rel), 'utf8');
  } catch (cause) {
    return { errors: [new AirlockError('config', `cannot read \`${shownAs}\`: ${errorText(cause)}`, { location: { file: shownAs }, cause })] };
  }
  const parsed = parseYamlText(shownAs, text);
  if ('errors' in parsed) return parsed;
  const valid = validate(parsed.source, workflowSchema);
  if ('errors' in valid) return valid;
  return { value: valid.value, source: parsed.source };
}

/**
 * Reads one YAML file and validates it with `schema`, the way `loadWorkspace` does: syntax errors
 * and every schema issue come back together as `AirlockErrors`, each pointing at a line and column.
 * For other layers' YAML inputs (playbooks, policy tests). `shownAs` is the path used in messages.
 */
export async function loadYamlFile<S extends z.ZodType>(file: string, schema: S, shownAs: string = file): Promise<z.output<S>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    const what = isNotFound(cause) ? 'does not exist' : `cannot be read: ${errorText(cause)}`;
    throw new AirlockError('config', `\`${shownAs}\` ${what}`, { location: { file: shownAs }, cause });
  }
  const parsed = parseYamlText(shownAs, text);
  if ('errors' in parsed) throw new AirlockErrors(parsed.errors);
  const valid = validate(parsed.source, schema);
  if ('errors' in valid) throw new AirlockErrors(valid.errors);
  return valid.value;
}

// ---------------------------------------------------------------------------------------------
// paths and globs

/**
 * Expands each entry of a path list (`workflows`, `policies`, `policyTests`): a plain path must
 * name a file; a pattern may use `*` and `?` in its last segment only (one folder level) and must
 * match at least one file. Returns workspace-relative paths with `/`: in pattern order, each
 * pattern's matches sorted by name, without duplicates.
 */
async function expandAll(absDir: string, src: YamlSource, key: string, patterns: readonly string[], errors: AirlockError[]): Promise<string[]> {
  const out = new Set<string>();
  for (const [i, pattern] of patterns.entries()) {
    const r = await expandPattern(absDir, pattern);
    if ('error' in r) errors.push(located(src, [key, i], r.error, r.hint));
    else r.files.forEach((f) => out.add(f));
  }
  return [...out];
}

async function expandPattern(absDir: string, pattern: string): Promise<{ files: string[] } | { error: string; hint: string }> {
  const norm = pattern.replace(/\\/g, '/');
  const slash = norm.lastIndexOf('/');
  const folder = slash < 0 ? '' : norm.slice(0, slash);
  const leaf = norm.slice(slash + 1);
  if (/[*?[\]{}]/.test(folder) || /[[\]{}]/.test(leaf)) {
    return {
      error: `unsupported pattern \`${pattern}\``,
      hint: 'patterns match file names within one folder: use `*` or `?` in the last part only, e.g. `workflows/*.yaml`',
    };
  }
  const absFolder = path.resolve(absDir, folder);
  if (!/[*?]/.test(leaf)) {
    if (leaf === '' || !(await isFile(path.join(absFolder, leaf)))) {
      return { error: `\`${pattern}\` is not a file`, hint: 'fix the path (it is relative to the workspace folder) or create the file' };
    }
    return { files: [toRel(absDir, path.join(absFolder, leaf))] };
  }
  const re = new RegExp(`^${leaf.split('').map((c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : escapeRe(c))).join('')}$`);
  let names: string[] = [];
  try {
    names = await readdir(absFolder);
  } catch {
    names = [];
  }
  const files: string[] = [];
  for (const n of names.sort()) {
    if (n.startsWith('.') && !leaf.startsWith('.')) continue;
    if (re.test(n) && (await isFile(path.join(absFolder, n)))) files.push(toRel(absDir, path.join(absFolder, n)));
  }
  if (files.length === 0) {
    return { error: `\`${pattern}\` matches no file`, hint: 'fix the pattern (it is relative to the workspace folder) or add a file it matches' };
  }
  return { files };
}

function escapeRe(c: string): string {
  return /[.+^$()|\\]/.test(c) ? `\\${c}` : c;
}

function toRel(absDir: string, abs: string): string {
  return path.relative(absDir, abs).split(path.sep).join('/');
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

function isNotFound(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === 'ENOENT';
}

/** A map that refuses writes at run time, not only in its type. */
function readonlyMap<K, V>(m: Map<K, V>): ReadonlyMap<K, V> {
  const refuse = (): never => {
    throw new TypeError('workspace maps are read-only');
  };
  Object.defineProperties(m, { set: { value: refuse }, delete: { value: refuse }, clear: { value: refuse } });
  return Object.freeze(m);
}

function deepFreeze<T>(v: T, seen = new WeakSet<object>()): T {
  if (v === null || typeof v !== 'object' || seen.has(v)) return v;
  seen.add(v);
  if (v instanceof Map) {
    for (const [k, x] of v) {
      deepFreeze(k, seen);
      deepFreeze(x, seen);
    }
  } else {
    for (const x of Object.values(v)) deepFreeze(x, seen);
  }
  Object.freeze(v);
  return v;
}
