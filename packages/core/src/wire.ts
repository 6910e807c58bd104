/**
 * The AMQP message for one Update on `chat3_updates` (SPEC §6). Pure, so the relay's envelope is
 * unit-tested without a broker.
 */
import { MAX_ROUTING_KEY_BYTES } from './routing-key';
import type { UpdateDocument } from './update';

export interface WireMessage {
  routingKey: string;
  body: Buffer;
  options: {
    persistent: true;
    mandatory: true;
    contentType: 'application/json';
    messageId: string;
    timestamp: number;
    type: string;
    headers: {
      tenantId: string;
      userId: string;
      eventType: string;
      eventId: string;
      'x-chat3-seq'?: number;
      'x-chat3-replay'?: string;
      traceparent?: string;
    };
  };
}

type HexId = string | { toHexString(): string };

type DocumentField = Exclude<keyof UpdateDocument, '_id'>;

/**
 * Whether each field of the stored document is part of the body (`_id` always is, as a hex string). A
 * Record, so a field added to the document does not compile until it is sorted in here.
 */
const ON_THE_WIRE: Record<DocumentField, boolean> = {
  tenantId: true,
  userId: true,
  userType: true,
  entityId: true,
  eventId: true,
  eventType: true,
  dialogId: true,
  updateType: true,
  routingKey: true,
  data: true,
  createdAt: true,
  statsVersion: true,
  seq: true,
  // Relay bookkeeping.
  published: false,
  publishedAt: false,
  publishedDate: false,
  publishAttempts: false,
  parked: false,
  republishedAt: false,
  replayId: false,
  // Builder internals: the recipient bucket relays lease by, and the event's time for the latency metric.
  partition: false,
  eventCreatedAt: false,
  // Trace context travels as the AMQP header of the same name.
  traceparent: false,
};

const DOCUMENT_FIELDS = Object.keys(ON_THE_WIRE) as DocumentField[];
const DELIVERED_FIELDS = DOCUMENT_FIELDS.filter((field) => ON_THE_WIRE[field]);

/** The stored fields the body leaves out. The README lists them; `wire.test.ts` holds the two together. */
export const WIRE_OMITTED_FIELDS: readonly DocumentField[] = DOCUMENT_FIELDS.filter((field) => !ON_THE_WIRE[field]);

export function idToHex(id: HexId): string {
  return typeof id === 'string' ? id : id.toHexString();
}

export function toWireMessage(doc: UpdateDocument<HexId>): WireMessage {
  const id = idToHex(doc._id);
  const body: Record<string, unknown> = { _id: id };
  for (const field of DELIVERED_FIELDS) body[field] = doc[field];
  // Only stats Updates number their emissions; 0 elsewhere means nothing to a client.
  if (!body.statsVersion) delete body.statsVersion;
  const headers: WireMessage['options']['headers'] = {
    tenantId: doc.tenantId,
    userId: doc.userId,
    eventType: doc.eventType,
    eventId: doc.eventId,
  };
  if (doc.seq !== undefined) headers['x-chat3-seq'] = doc.seq;
  else delete body.seq;
  if (doc.replayId !== undefined) headers['x-chat3-replay'] = doc.replayId;
  if (doc.traceparent !== undefined) headers.traceparent = doc.traceparent;
  return {
    routingKey: doc.routingKey,
    body: Buffer.from(JSON.stringify(body)),
    options: {
      persistent: true,
      mandatory: true,
      contentType: 'application/json',
      messageId: id,
      timestamp: Math.floor(doc.createdAt / 1000),
      type: doc.updateType,
      headers,
    },
  };
}

/** Why a message can never be published as it stands, or null. Such Updates are parked, not retried. */
export function unpublishableReason(message: WireMessage, maxBodyBytes: number): string | null {
  const keyBytes = Buffer.byteLength(message.routingKey);
  if (keyBytes > MAX_ROUTING_KEY_BYTES) return `routing key is ${keyBytes} bytes, AMQP allows ${MAX_ROUTING_KEY_BYTES}`;
  if (message.body.length > maxBodyBytes) return `body is ${message.body.length} bytes, limit is ${maxBodyBytes}`;
  return null;
}
