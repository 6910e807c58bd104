/**
 * Bearer-token authorisation of the catch-up API. Pure: the tokens come from configuration
 * (`API_TOKENS`), each scoped to one tenant or to all (`*`).
 *
 * Guarantees: a request without a configured token is refused (401) whatever it asks for; a token only
 * reads its own tenant (403 otherwise). Tokens are compared as SHA-256 digests with `timingSafeEqual`,
 * against every configured token without stopping at a match, so the time taken says nothing about
 * how much of a token was right, nor which one matched.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { idProblem } from './request-params';

export const ALL_TENANTS = '*';
export const MIN_TOKEN_LENGTH = 16;
export const MAX_TOKEN_LENGTH = 512;

export interface ApiToken {
  token: string;
  /** A tenantId, or `*` for every tenant. */
  tenant: string;
}

export type TokensParse = { ok: true; tokens: ApiToken[] } | { ok: false; problems: string[] };

/**
 * `token=tenantId,token2=*` → tokens. Problems name the entry by position, never by its token.
 */
export function parseApiTokens(raw: string): TokensParse {
  const problems: string[] = [];
  const tokens: ApiToken[] = [];
  const entries = raw.split(',').map((e) => e.trim());
  if (raw.trim() === '')
    return { ok: false, problems: ['no token configured; expected token=tenantId or token=* entries, comma-separated'] };
  entries.forEach((entry, i) => {
    const where = `entry ${i + 1} of ${entries.length}`;
    const eq = entry.indexOf('=');
    if (eq < 0) return problems.push(`${where}: expected token=tenantId or token=*`);
    const token = entry.slice(0, eq);
    const tenant = entry.slice(eq + 1);
    if (token.length < MIN_TOKEN_LENGTH || token.length > MAX_TOKEN_LENGTH) {
      return problems.push(`${where}: a token must have ${MIN_TOKEN_LENGTH}–${MAX_TOKEN_LENGTH} characters (has ${token.length})`);
    }
    if (/[\s=]/.test(token)) return problems.push(`${where}: a token may not contain white space or '='`);
    if (tenant !== ALL_TENANTS) {
      const problem = idProblem(tenant) ?? (tenant.includes('=') ? "contains '='" : null);
      if (problem) return problems.push(`${where}: the tenant ${problem}`);
    }
    if (tokens.some((t) => t.token === token)) return problems.push(`${where}: the same token is configured twice`);
    tokens.push({ token, tenant });
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, tokens };
}

export type Authentication = { ok: true; scope: string } | { ok: false; status: 401; message: string };

export interface Authorizer {
  /** The token's scope (a tenantId or `*`), or why the request is refused (401). */
  authenticate(authorization: string | undefined): Authentication;
}

/** Whether a token of `scope` may read `tenantId` (403 otherwise). */
export function mayRead(scope: string, tenantId: string): boolean {
  return scope === ALL_TENANTS || scope === tenantId;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

export function createAuthorizer(tokens: readonly ApiToken[]): Authorizer {
  const known = tokens.map((t) => ({ digest: digest(t.token), tenant: t.tenant }));
  return {
    authenticate(authorization) {
      const match = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
      if (!match) {
        return {
          ok: false,
          status: 401,
          message: authorization === undefined ? 'missing Authorization: Bearer <token>' : 'Authorization is not Bearer <token>',
        };
      }
      const presented = digest(match[1]!);
      let scope: string | undefined;
      for (const k of known) if (timingSafeEqual(k.digest, presented) && scope === undefined) scope = k.tenant;
      if (scope === undefined) return { ok: false, status: 401, message: 'unknown token' };
      return { ok: true, scope };
    },
  };
}
