/**
 * Validation of what a catch-up request names: the recipient (path) and the page (query). Pure; each
 * problem is a sentence the 400 answer carries as it is.
 */
import { z } from 'zod';

export const MAX_ID_BYTES = 256;
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1_000;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Why `id` cannot be a tenantId or userId, or null. */
export function idProblem(id: string): string | null {
  if (id.length === 0) return 'is empty';
  const bytes = Buffer.byteLength(id);
  if (bytes > MAX_ID_BYTES) return `is ${bytes} bytes long, at most ${MAX_ID_BYTES} allowed`;
  if (CONTROL.test(id)) return 'contains a control character';
  return null;
}

export interface Recipient {
  tenantId: string;
  userId: string;
}

export interface PageQuery {
  after: number;
  limit: number;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

export function parseRecipient(params: { tenantId?: unknown; userId?: unknown }): Parsed<Recipient> {
  const problems: string[] = [];
  for (const name of ['tenantId', 'userId'] as const) {
    const value = params[name];
    const problem = typeof value === 'string' ? idProblem(value) : 'is missing';
    if (problem) problems.push(`${name} ${problem}`);
  }
  if (problems.length > 0) return { ok: false, message: problems.join('; ') };
  return { ok: true, value: { tenantId: params.tenantId as string, userId: params.userId as string } };
}

/** A decimal integer in a query string: digits only (no sign, exponent, fraction or white space). */
const integerParam = (name: string, def: number, min: number, max: number) =>
  z
    .string({ error: `${name} must be given once` })
    .regex(/^[0-9]+$/, `${name} must be an integer ≥ ${min}`)
    .transform(Number)
    .pipe(z.number().min(min, `${name} must be ≥ ${min}`).max(max, `${name} must be ≤ ${max}`))
    .optional()
    .transform((v) => v ?? def);

const pageQuerySchema = z.object({
  after: integerParam('after', 0, 0, Number.MAX_SAFE_INTEGER),
  limit: integerParam('limit', DEFAULT_LIMIT, 1, MAX_LIMIT),
});

export function parsePageQuery(query: unknown): Parsed<PageQuery> {
  const result = pageQuerySchema.safeParse(query ?? {});
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, message: result.error.issues.map((i) => i.message).join('; ') };
}
