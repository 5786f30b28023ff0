// What the console's routes share: the request's signed-in person and page context, the form reader,
// and how a person who signed in becomes an approver (recorded with each vote).
import type { Context } from 'hono';
import type { Airlock } from '../airlock.js';
import type { Approver } from '../gateway/approvals/vote.js';
import type { Principal } from '../types.js';
import type { PageContext } from './layout.js';
import type { ConsoleSession, Sessions } from './session.js';
import type { SignInLimiter } from './security.js';

/** The Hono environment of the console's routes once a person signed in. */
export interface ConsoleEnv {
  Variables: {
    session: ConsoleSession;
    principal: Principal;
    page: PageContext;
    form: Record<string, string>;
  };
}

/** What the page modules need besides the request. */
export interface ConsoleDeps {
  readonly airlock: Airlock;
  readonly sessions: Sessions;
  readonly limiter: SignInLimiter;
  /** Checks a person's password again (step-up by re-authentication); false when wrong or rate-limited. */
  readonly checkPassword: (principal: string, password: string) => Promise<boolean>;
  /** Failed sign-ins and refusals go here (never a password). */
  readonly warn: (fields: Record<string, unknown>, message: string) => void;
}

export type ConsoleContext = Context<ConsoleEnv>;

/** The signed-in person as an approver: the method and time of their sign-in go with every vote, as the CLI's and the API's do. */
export function sessionApprover(session: ConsoleSession, principal: Principal, reauthAt?: string): Approver {
  return {
    principal,
    auth: { issuer: session.issuer, subject: session.subject, method: session.method, amr: reauthAt ? ['reauth'] : [], authTime: reauthAt ?? session.authTime },
  };
}

/** A form field as a string ('' when absent or a file). */
export function field(c: ConsoleContext, name: string): string {
  return c.get('form')[name] ?? '';
}
