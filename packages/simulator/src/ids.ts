/** Id formats Chat3 uses (SPEC §2, §3), drawn from the simulation's PRNG so they are reproducible. */
import type { Random } from './prng';

const ALPHANUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

function alphanumeric(random: Random, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHANUM[random.int(0, ALPHANUM.length - 1)];
  return out;
}

export const newEventId = (random: Random) => `evt_${random.hex(32)}`;
/** What older producers sent instead of `eventId`: a 24-hex ObjectId under `_id`. */
export const newLegacyObjectId = (random: Random) => random.hex(24);
export const newDialogId = (random: Random) => `dlg_${alphanumeric(random, 20)}`;
export const newMessageId = (random: Random) => `msg_${alphanumeric(random, 20)}`;

/**
 * UserIds that would break an unencoded AMQP routing key (`.` splits words, `*` and `#` are wildcards).
 * Present only when the `dangerousUserIds` option is on; the product must encode them (SPEC §6).
 */
export const DANGEROUS_USER_IDS: ReadonlyArray<{ userId: string; type: 'user' | 'bot' | 'contact' }> = [
  { userId: 'a.b', type: 'user' },
  { userId: 'bot*1', type: 'bot' },
  { userId: 'x#y', type: 'contact' },
  { userId: 'ivan.petrov', type: 'user' },
  { userId: '*', type: 'user' },
  { userId: '#', type: 'contact' },
];

/** Free-form userIds in the styles Chat3 tenants use: login names, bot handles, contact ids. */
export function newUserId(random: Random, type: string, firstName: string): string {
  if (type === 'bot') return `bot_${firstName.toLowerCase()}_${random.hex(4)}`;
  if (type === 'contact') return `cnt_${random.hex(10)}`;
  return `${firstName.toLowerCase()}_${alphanumeric(random, 5)}`;
}

export function tenantIdsFor(count: number): string[] {
  return Array.from({ length: count }, (_, i) => (i === 0 ? 'tnt_default' : `tnt_${String(i + 1).padStart(4, '0')}`));
}
