// Headers Airlock adds to outbound requests, with secrets read from the environment at call time.

/** A configured header value: literal, or a secret from the environment with an optional prefix. */
export type HeaderValue = string | { readonly env: string; readonly prefix: string };

export type ResolvedHeaders =
  | { readonly ok: true; readonly headers: Record<string, string>; readonly secrets: readonly string[] }
  | { readonly ok: false; readonly message: string };

/**
 * Resolves configured headers. A missing secret or a value that could split the header is an
 * error naming the header (never the secret), so nothing is sent.
 */
export function resolveHeaders(config: Readonly<Record<string, HeaderValue>>, env: Readonly<Record<string, string | undefined>>): ResolvedHeaders {
  const headers: Record<string, string> = {};
  const secrets: string[] = [];
  for (const [header, value] of Object.entries(config)) {
    let v: string;
    if (typeof value === 'string') v = value;
    else {
      const secret = env[value.env];
      if (secret === undefined || secret === '') return { ok: false, message: `environment variable \`${value.env}\` (for header \`${header}\`) is not set` };
      secrets.push(secret);
      v = value.prefix + secret;
    }
    if (/[\r\n\0]/.test(v)) return { ok: false, message: `header \`${header}\` has a value that is not a valid HTTP header value` };
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(header)) return { ok: false, message: `header \`${header}\` is not a valid HTTP header` };
    headers[header] = v;
  }
  return { ok: true, headers, secrets };
}
