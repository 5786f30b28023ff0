// Test helper: a fake OpenID provider on 127.0.0.1 (node:http): discovery, JWKS (a jose RS256 key), an
// authorization endpoint that redirects back with a code, and a token endpoint that checks the PKCE
// verifier and the client secret and returns an ID token signed by its key (or as a case asks).
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload, type KeyObject } from 'jose';

export const CLIENT_ID = 'airlock-console';
export const CLIENT_SECRET = 'client-secret-for-tests';

/** How the fake provider answers the next sign-in. */
export interface Behaviour {
  /** Claims over the defaults (`undefined` removes one). */
  claims?: Record<string, unknown>;
  /** Sign with another key than the published one. */
  foreignKey?: boolean;
  /** An unsigned token (`alg: none`). */
  unsigned?: boolean;
  /** The token endpoint answers HTTP 500. */
  tokenStatus?: number;
  /** The authorization endpoint answers `error=access_denied`. */
  deny?: boolean;
}

/** A fake OpenID provider on 127.0.0.1. */
export class FakeProvider {
  server!: Server;
  issuer = '';
  behaviour: Behaviour = {};
  now: () => Date = () => new Date();
  /** Requests the token endpoint got (their form bodies and Authorization headers). */
  tokenRequests: { body: URLSearchParams; authorization: string | undefined }[] = [];
  private key!: KeyObject;
  private other!: KeyObject;
  private jwk!: JWK;
  private readonly codes = new Map<string, { challenge: string; nonce: string; clientId: string; redirect: string; prompt: string | null }>();

  async start(): Promise<void> {
    const [a, b] = await Promise.all([generateKeyPair('RS256', { extractable: true }), generateKeyPair('RS256')]);
    this.key = a.privateKey as KeyObject;
    this.other = b.privateKey as KeyObject;
    this.jwk = { ...(await exportJWK(a.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.issuer = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.issuer);
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    if (url.pathname === '/.well-known/openid-configuration') {
      return json(200, {
        issuer: this.issuer,
        authorization_endpoint: `${this.issuer}/authorize`,
        token_endpoint: `${this.issuer}/token`,
        jwks_uri: `${this.issuer}/jwks`,
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic'],
      });
    }
    if (url.pathname === '/jwks') return json(200, { keys: [this.jwk] });
    if (url.pathname === '/authorize') {
      const p = url.searchParams;
      const back = new URL(p.get('redirect_uri') ?? '');
      back.searchParams.set('state', p.get('state') ?? '');
      if (this.behaviour.deny) {
        back.searchParams.set('error', 'access_denied');
        back.searchParams.set('error_description', 'The user declined.');
      } else {
        const code = randomBytes(16).toString('base64url');
        this.codes.set(code, { challenge: p.get('code_challenge') ?? '', nonce: p.get('nonce') ?? '', clientId: p.get('client_id') ?? '', redirect: p.get('redirect_uri') ?? '', prompt: p.get('prompt') });
        back.searchParams.set('code', code);
      }
      res.writeHead(302, { location: back.toString() });
      return void res.end();
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      let text = '';
      for await (const chunk of req) text += String(chunk);
      const body = new URLSearchParams(text);
      this.tokenRequests.push({ body, authorization: req.headers.authorization });
      if (this.behaviour.tokenStatus) return json(this.behaviour.tokenStatus, { error: 'server_error' });
      const grant = this.codes.get(body.get('code') ?? '');
      this.codes.delete(body.get('code') ?? '');
      const verifier = body.get('code_verifier') ?? '';
      const basic = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`;
      if (!grant || createHash('sha256').update(verifier).digest('base64url') !== grant.challenge || req.headers.authorization !== basic || body.get('redirect_uri') !== grant.redirect) {
        return json(400, { error: 'invalid_grant' });
      }
      return json(200, { access_token: 'at', token_type: 'Bearer', id_token: await this.idToken(grant.nonce, grant.prompt === 'login') });
    }
    json(404, { error: 'not found' });
  }

  private async idToken(nonce: string, freshLogin: boolean): Promise<string> {
    const nowS = Math.floor(this.now().getTime() / 1000);
    const claims: JWTPayload = { iss: this.issuer, sub: 'priya', aud: CLIENT_ID, iat: nowS, exp: nowS + 300, nonce, auth_time: freshLogin ? nowS : nowS - 120, email: 'priya@acme.example', email_verified: true };
    for (const [k, v] of Object.entries(this.behaviour.claims ?? {})) {
      if (v === undefined) delete claims[k];
      else claims[k] = v;
    }
    if (this.behaviour.unsigned) {
      const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
      return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
    }
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).sign(this.behaviour.foreignKey ? this.other : this.key);
  }
}

