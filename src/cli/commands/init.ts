// `airlock init [DIR] --kind gateway|agent`: writes a commented, valid workspace; never overwrites a file.
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { WORKSPACE_FILE } from '../../config/load.js';
import { AirlockError } from '../../errors.js';
import { AIRLOCK_ROOT } from '../../util/package-root.js';
import { initFiles, INIT_WORKFLOW, WORKSPACE_KINDS, type WorkspaceKind } from '../init-templates.js';
import { cliPrefix } from '../prefix.js';
import { bold, dim, green } from '../render.js';

/** What `registerInitCommand` needs from the program that hosts it. */
export interface InitCommandHelpers {
  /** Writes one line to stdout. */
  readonly out: (line: string) => void;
  /** The OS account name, the default approver id (default: `os.userInfo()`). */
  readonly username?: () => string;
}

const NAME = /^[a-z][a-z0-9_-]*$/;

/** `text` as a workspace name: lowercase, other characters as `-`, starting with a letter; `fallback` when nothing is left. */
export function asName(text: string, fallback: string): string {
  const n = text
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-+$/, '')
    .slice(0, 40);
  return NAME.test(n) ? n : fallback;
}

/** What `initWorkspace` wrote. */
export interface InitResult {
  readonly dir: string;
  readonly kind: WorkspaceKind;
  /** Workspace-relative paths, in the order written. */
  readonly files: readonly string[];
}

/**
 * Writes a new workspace of `kind` into `dir` (created if needed). Refuses, writing nothing, when
 * any of its files already exists; a write that fails half-way removes what it wrote.
 */
export function initWorkspace(dir: string, opts: { readonly kind: WorkspaceKind; readonly name: string; readonly user: string }): InitResult {
  const abs = path.resolve(dir);
  for (const [flag, value] of [['--name', opts.name], ['--user', opts.user]] as const) {
    if (!NAME.test(value)) {
      throw new AirlockError('input', `${flag} \`${value}\` is not a valid name`, { hint: 'use lowercase letters, digits, `_` or `-`, starting with a letter' });
    }
  }
  if (existsSync(abs) && !statSync(abs).isDirectory()) {
    throw new AirlockError('input', `\`${dir}\` is a file, not a folder`, { hint: 'name a new or existing folder for the workspace' });
  }
  const schemaDir = path.relative(abs, path.join(AIRLOCK_ROOT, 'schema')).split(path.sep).join('/') || '.';
  const files = initFiles({ kind: opts.kind, name: opts.name, user: opts.user, schemaDir });
  const taken = [...files.keys()].filter((rel) => existsSync(path.join(abs, rel)));
  if (taken.length > 0) {
    throw new AirlockError('conflict', `\`${dir}\` already holds ${taken.map((t) => `\`${t}\``).join(', ')}: \`airlock init\` never overwrites a file`, {
      hint: `initialise a new folder (\`airlock init NEW-FOLDER --kind ${opts.kind}\`), or move ${taken.length === 1 ? 'that file' : 'those files'} away first`,
    });
  }
  const written: string[] = [];
  try {
    for (const [rel, text] of files) {
      const file = path.join(abs, rel);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, text, { flag: 'wx' });
      written.push(rel);
    }
  } catch (cause) {
    // Nothing half-written: take back what this call wrote (folders it made may stay, empty).
    for (const rel of written) rmSync(path.join(abs, rel), { force: true });
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new AirlockError('input', `could not write the workspace into \`${dir}\`: ${why}`, { hint: 'check that the folder is writable, and that nothing else writes into it', cause });
  }
  return { dir: abs, kind: opts.kind, files: written };
}

/** The commands to run next, for a workspace of `kind` in `dir` reached with `prefix`. */
export function nextSteps(kind: WorkspaceKind, prefix: string, dir: string): string[] {
  const main = path.relative(process.cwd(), path.join(dir, WORKSPACE_FILE));
  const steps: [string, string][] =
    kind === 'gateway'
      ? [
          [`${prefix} validate`, 'it passes as it is'],
          [`(edit ${main})`, 'add your MCP server under `connectors:` (there is a commented example)'],
          [`${prefix} tools import CONNECTOR --out CONNECTOR.draft.yaml`, 'draft a contract per tool, and see what each means at the workflow\'s tier'],
          [`${prefix} keys create --principal agent:assistant --id laptop`, 'a key for your agent (or use `mcp` over stdio)'],
          [`${prefix} serve`, 'MCP at /mcp and the JSON API at /v1, for your agent'],
        ]
      : [
          [`${prefix} validate`, 'it passes as it is'],
          [`${prefix} run ${INIT_WORKFLOW} --input '{}'`, `the scripted model follows playbooks/${INIT_WORKFLOW}.yaml`],
          [`${prefix} runs`, 'runs and their timelines (`runs show RUN`)'],
        ];
  const width = Math.max(...steps.map(([c]) => c.length));
  return steps.map(([c, why]) => `  ${bold(c.padEnd(width))}  ${dim(why)}`);
}

/** Registers `airlock init` on `program`. */
export function registerInitCommand(program: Command, helpers: InitCommandHelpers): Command {
  const username = helpers.username ?? ((): string => {
    try {
      return userInfo().username;
    } catch {
      return '';
    }
  });
  return program
    .command('init [dir]')
    .description('write a new, commented workspace: `gateway` governs an agent you already have, `agent` runs Airlock\'s own loop')
    .addOption(new Option('--kind <kind>', 'gateway: your agent connects to Airlock (no model); agent: Airlock\'s own loop with a scripted model').choices(WORKSPACE_KINDS).makeOptionMandatory())
    .option('--name <name>', 'the workspace name (default: from the folder name)')
    .option('--user <id>', 'the person who approves (default: from your login name)')
    .action((dir: string | undefined, o: { kind: WorkspaceKind; name?: string; user?: string }) => {
      const target = dir ?? '.';
      const abs = path.resolve(target);
      const result = initWorkspace(target, {
        kind: o.kind,
        name: o.name ?? asName(path.basename(abs), 'workspace'),
        user: o.user ?? asName(username(), 'me'),
      });
      helpers.out(`${green('ok')}: ${o.kind} workspace in ${result.dir}`);
      helpers.out(dim(`  wrote ${result.files.join(', ')}`));
      helpers.out('next:');
      for (const line of nextSteps(o.kind, cliPrefix(result.dir), result.dir)) helpers.out(line);
    });
}
