/**
 * Every Update carries `partition`, a bucket of the recipient space computed at build time from
 * tenantId + userId. All Updates of one recipient share a bucket, so whoever owns the bucket sees that
 * recipient's whole stream and can keep it in order.
 *
 * The bucket count is fixed (changing it would move recipients between buckets while Updates are in
 * flight). Relays lease ranges of buckets, so the number of relay partitions is a runtime setting.
 */
export const PARTITION_BUCKETS = 1024;

/** FNV-1a (32 bit) over the UTF-8 bytes of `tenantId \0 userId`. Stable across processes and versions. */
export function hashKey(parts: readonly string[]): number {
  let hash = 0x811c9dc5;
  const bytes = Buffer.from(parts.join('\u0000'), 'utf8');
  for (const b of bytes) {
    hash ^= b;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

export function partitionOf(tenantId: string, userId: string): number {
  return hashKey([tenantId, userId]) % PARTITION_BUCKETS;
}

/** Half-open bucket range `[from, to)` covered by relay partition `index` of `count`. */
export function bucketRange(index: number, count: number): { from: number; to: number } {
  if (!Number.isInteger(count) || count < 1 || count > PARTITION_BUCKETS) {
    throw new RangeError(`partition count must be 1..${PARTITION_BUCKETS}, got ${count}`);
  }
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new RangeError(`partition index must be 0..${count - 1}, got ${index}`);
  }
  return {
    from: Math.floor((index * PARTITION_BUCKETS) / count),
    to: Math.floor(((index + 1) * PARTITION_BUCKETS) / count),
  };
}

/** The relay partition (of `count`) whose bucket range holds `bucket`: the inverse of `bucketRange`. */
export function relayPartitionOf(bucket: number, count: number): number {
  return Math.floor(((bucket + 1) * count - 1) / PARTITION_BUCKETS);
}

/** The bucket ranges of several relay partitions, adjacent ranges merged, in order. */
export function bucketRanges(partitions: readonly number[], count: number): Array<{ from: number; to: number }> {
  const ranges: Array<{ from: number; to: number }> = [];
  for (const p of [...partitions].sort((a, b) => a - b)) {
    const r = bucketRange(p, count);
    const last = ranges.at(-1);
    if (last && last.to === r.from) last.to = r.to;
    else ranges.push({ ...r });
  }
  return ranges;
}
