// Reading a secret the workspace points to (an API key, a signing key, a webhook secret): from an environment
// variable or a file beside the workspace. A secret named but not found is a `config` error saying where to put it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AirlockError } from '../errors.js';

/**
 * The secret `from` points to, trimmed; null when it points nowhere. `owner` names what reads it in
 * messages (``model route `x` ``, `embeddings`), `what` what the secret is (`API key`, `signing key`).
 */
export function readSecret(
  dir: string,
  owner: string,
  from: { readonly env: string } | { readonly file: string } | undefined,
  what = 'API key',
): string | null {
  if (!from) return null;
  if ('env' in from) {
    const v = process.env[from.env]?.trim();
    if (!v) throw new AirlockError('config', `${owner} reads its ${what} from \`${from.env}\`, which is not set`, { hint: `export ${from.env}=... before starting Airlock` });
    return v;
  }
  const file = path.resolve(dir, from.file);
  let v: string;
  try {
    v = readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new AirlockError('config', `${owner} cannot read its ${what} file: ${e instanceof Error ? e.message : String(e)}`, { location: { file }, hint: `write the ${what} alone in that file (mode 600)` });
  }
  if (!v) throw new AirlockError('config', `${owner}'s ${what} file is empty`, { location: { file } });
  return v;
}
