/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/#traceparent-header): a Chat3 event's
 * `traceparent` AMQP header travels with its Updates to the client, so a trace continues from the event
 * to the client without the pipeline depending on a tracing SDK. Only a well-formed value is kept.
 */

// version "-" trace-id "-" parent-id "-" trace-flags, lowercase hex; version ff is invalid. A future
// version may append fields after a dash; we pass the value on as received when its known part is valid.
const TRACEPARENT = /^(?!ff)([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** The header's value when it is a valid traceparent, else undefined (absent, malformed, all-zero ids). */
export function validTraceparent(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > 512) return undefined;
  const m = TRACEPARENT.exec(value);
  if (!m) return undefined;
  const [, version, traceId, parentId] = m;
  if (/^0+$/.test(traceId!) || /^0+$/.test(parentId!)) return undefined;
  if (version === '00' && m[5] !== undefined) return undefined; // version 00 has exactly four fields
  return value;
}
