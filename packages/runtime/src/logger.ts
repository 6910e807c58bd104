/**
 * One pino root logger per process, made in main.ts and passed down (`logger.child({ component })`).
 * Credentials never reach the output: known secret fields are redacted and URLs are printed through
 * `redactUrl`.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(options: { name: string; level: string }): Logger {
  return pino({
    name: options.name,
    level: options.level,
    base: { pid: process.pid, service: options.name },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['password', '*.password', 'uri', '*.uri', 'url', '*.url', 'env.MONGODB_URI', 'env.RABBITMQ_URL'],
      censor: (value) => (typeof value === 'string' ? redactUrl(value) : '[redacted]'),
    },
    serializers: { err: pino.stdSerializers.err },
  });
}

/**
 * Query options that hold secrets: `tlsCertificateKeyFilePassword`, `authMechanismProperties`
 * (`AWS_SESSION_TOKEN:…`), and anything named like a password, secret, token or credential.
 */
const SECRET_OPTION = /pass|secret|token|credential|authmechanismproperties/i;

/**
 * `amqp://user:secret@host` → `amqp://user:***@host`, and the value of every secret query option →
 * `***` (`?tlsCertificateKeyFilePassword=***`); leaves anything that is not a URL alone.
 */
export function redactUrl(value: string): string {
  return value
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^@/\s]*@/gi, '$1:***@')
    .replace(
      /(\b[a-z][a-z0-9+.-]*:\/\/[^?\s]*\?)(\S*)/gi,
      (_, head: string, query: string) =>
        head + query.replace(/([^&;=]+)=([^&;]*)/g, (option: string, name: string) => (SECRET_OPTION.test(name) ? `${name}=***` : option)),
    );
}

/** Silent logger for tests and scripts that pass no logger. */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
