// `airlock keys`: create a bearer API key (shown once, only its hash goes into airlock.yaml) and hash an existing one.
import type { Command } from 'commander';
import { apiKeySchema } from '../../config/schema.js';
import { loadWorkspace } from '../../config/load.js';
import { AirlockError } from '../../errors.js';
import { generateApiKey, hashApiKey, isApiKeyFormat } from '../../identity/api-keys.js';
import { resolvePrincipal } from '../../identity/principal.js';

/** What `registerKeysCommand` needs from the program that hosts it. */
export interface KeysCommandHelpers {
  /** Writes one line to stdout. */
  readonly out: (line: string) => void;
  /** The workspace folder the command works on: `keys create` refuses a principal it does not declare. */
  readonly workspaceDir: () => string;
  /** All of stdin as text (default: reads `process.stdin` to its end). */
  readonly readStdin?: () => Promise<string>;
  /** The clock, to refuse an `--expires` in the past (default: the system clock). */
  readonly now?: () => Date;
}

/** The fields of one `identity.apiKeys` entry, as `keys create` prints them. */
export interface CreatedKey {
  readonly id: string;
  readonly principal: string;
  readonly key: string;
  readonly sha256: string;
  readonly expires?: string;
}

/** Adds `keys create` and `keys hash` to `program`. */
export function registerKeysCommand(program: Command, helpers: KeysCommandHelpers): Command {
  const { out } = helpers;
  const keys = program.command('keys').description('bearer API keys for agents and services (Airlock stores only their SHA-256)');

  keys
    .command('create')
    .description('make a new API key: prints it once, with the YAML to paste under `identity.apiKeys`')
    .requiredOption('--principal <kind:id>', 'the declared principal the key proves, e.g. agent:NAME')
    .requiredOption('--id <name>', 'a name for the key (audit records cite it), e.g. NAME-prod')
    .option('--expires <iso>', 'expiry, ISO-8601 UTC, e.g. 2026-12-31T23:59:59Z')
    .option('--json', 'machine-readable output')
    .action(async (o: { principal: string; id: string; expires?: string; json?: boolean }) => {
      const id = apiKeySchema.shape.id.safeParse(o.id);
      if (!id.success) throw new AirlockError('input', `--id \`${o.id}\` is not a valid key name`, { hint: 'use lowercase letters, digits, `_` or `-`, starting with a letter' });
      const principal = apiKeySchema.shape.principal.safeParse(o.principal);
      if (!principal.success) throw new AirlockError('input', `--principal \`${o.principal}\` is not \`kind:id\``, { hint: 'e.g. `--principal agent:NAME`, naming a principal declared under `identity.principals` (kind: user, agent or service)' });
      if (o.expires !== undefined) {
        if (!apiKeySchema.shape.expires.safeParse(o.expires).success) {
          throw new AirlockError('input', `--expires \`${o.expires}\` is not an ISO-8601 UTC date-time`, { hint: 'e.g. `--expires 2026-12-31T23:59:59Z`' });
        }
        if (Date.parse(o.expires) <= (helpers.now ?? (() => new Date()))().getTime()) {
          throw new AirlockError('input', `--expires \`${o.expires}\` is in the past`, { hint: 'give a future date-time' });
        }
      }

      const workspace = await loadWorkspace(helpers.workspaceDir());
      const identity = workspace.file.identity;
      const resolved = resolvePrincipal(identity.principals, o.principal);
      if (!resolved.ok) {
        throw new AirlockError('input', `principal \`${o.principal}\` is not declared in \`${workspace.dir}\``, {
          hint: `declare it under \`identity.principals\` first (declared: ${identity.principals.map((p) => `${p.kind}:${p.id}`).join(', ')})`,
        });
      }
      if (identity.apiKeys.some((k) => k.id === o.id)) {
        throw new AirlockError('input', `an api key with id \`${o.id}\` already exists`, { hint: 'choose another `--id`; to rotate, create the new key, deploy it, then remove the old entry' });
      }

      const { key, sha256 } = generateApiKey();
      const created: CreatedKey = { id: o.id, principal: o.principal, key, sha256, ...(o.expires === undefined ? {} : { expires: o.expires }) };
      if (o.json) {
        out(JSON.stringify(created, null, 2));
        return;
      }
      out(`API key for ${o.principal} (shown once: Airlock keeps only its hash, so store it now in your secret manager):`);
      out('');
      out(`  ${key}`);
      out('');
      out('Add this under `identity.apiKeys` in airlock.yaml:');
      out('');
      out(apiKeyYaml(created));
    });

  keys
    .command('hash')
    .description('read an API key from stdin and print its SHA-256 (the value for `identity.apiKeys[].sha256`)')
    .action(async () => {
      const text = (await (helpers.readStdin ?? readAllStdin)()).trim();
      if (text === '') throw new AirlockError('input', 'no API key on stdin', { hint: 'pipe the key in, e.g. `airlock keys hash < key.txt`' });
      if (!isApiKeyFormat(text)) {
        throw new AirlockError('input', 'stdin does not hold one Airlock API key (`alk_` and 43 base64url characters)', { hint: 'make a key with `airlock keys create`' });
      }
      out(hashApiKey(text));
    });

  return keys;
}

/** The `identity.apiKeys` list entry for a key (its hash, never the key), indented to paste under `apiKeys:`. */
export function apiKeyYaml(k: Omit<CreatedKey, 'key'>): string {
  const lines = [`    - id: ${k.id}`, `      principal: ${k.principal}`, `      sha256: ${k.sha256}`];
  if (k.expires !== undefined) lines.push(`      expires: ${JSON.stringify(k.expires)}`);
  return lines.join('\n');
}

async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
