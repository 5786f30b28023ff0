// `airlock console hash-password`: reads a password from stdin and prints the scrypt hash for
// `console.users[].password` in airlock.yaml (the password itself is never stored or printed).
import type { Command } from 'commander';
import { AirlockError } from '../../errors.js';
import { hashPassword } from '../../console/passwords.js';

/** What `registerConsoleCommand` needs from the program that hosts it. */
export interface ConsoleCommandHelpers {
  readonly out: (line: string) => void;
  /** All of stdin as text (default: reads `process.stdin` to its end). */
  readonly readStdin?: () => Promise<string>;
}

/** The shortest console password accepted. */
export const MIN_PASSWORD_LENGTH = 8;

/** Adds `console hash-password` to `program`. */
export function registerConsoleCommand(program: Command, helpers: ConsoleCommandHelpers): Command {
  const c = program.command('console').description('the web console of `airlock serve` (/console)');
  c.command('hash-password')
    .description('read a password from stdin and print its scrypt hash for `console.users` in airlock.yaml')
    .option('--principal <user>', 'print the whole `console.users` entry for this person (user:ID)')
    .action(async (o: { principal?: string }) => {
      if (!helpers.readStdin && process.stdin.isTTY) process.stderr.write('password (then Enter and Ctrl-D): ');
      const text = await (helpers.readStdin ?? readAllStdin)();
      // One trailing newline is the terminal's, not the password's.
      const password = text.replace(/\r?\n$/, '');
      if (password.length < MIN_PASSWORD_LENGTH) {
        throw new AirlockError('input', `the password is shorter than ${MIN_PASSWORD_LENGTH} characters`, { hint: 'pipe it in: `printf %s "$PASSWORD" | airlock console hash-password`' });
      }
      if (o.principal !== undefined && !/^user:[a-z0-9][a-z0-9._-]*$/.test(o.principal)) throw new AirlockError('input', `--principal \`${o.principal}\` is not \`user:<id>\``);
      const hash = await hashPassword(password);
      helpers.out(o.principal ? `    - { principal: ${o.principal}, password: "${hash}" }` : hash);
    });
  return c;
}

async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
