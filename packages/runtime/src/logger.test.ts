import { describe, expect, it } from 'vitest';
import { redactUrl } from './logger';

describe('redactUrl', () => {
  it('hides passwords in connection strings', () => {
    expect(redactUrl('amqp://guest:guest@127.0.0.1:5672')).toBe('amqp://guest:***@127.0.0.1:5672');
    expect(redactUrl('mongodb+srv://app:p%40ss@cluster0/db?retryWrites=true')).toBe('mongodb+srv://app:***@cluster0/db?retryWrites=true');
    expect(redactUrl('failed to reach mongodb://u:pw@h:27017/ and amqp://a:b@c')).toBe(
      'failed to reach mongodb://u:***@h:27017/ and amqp://a:***@c',
    );
  });

  it('hides secrets in query options, and only those', () => {
    expect(redactUrl('mongodb://h/db?tls=true&tlsCertificateKeyFile=/k.pem&tlsCertificateKeyFilePassword=s3cret')).toBe(
      'mongodb://h/db?tls=true&tlsCertificateKeyFile=/k.pem&tlsCertificateKeyFilePassword=***',
    );
    expect(redactUrl('mongodb+srv://c0/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:FQoGZXIvYXdz&w=majority')).toBe(
      'mongodb+srv://c0/?authMechanism=MONGODB-AWS&authMechanismProperties=***&w=majority',
    );
    expect(redactUrl('amqps://u:p@h/vh?password=x;heartbeat=10 then text')).toBe('amqps://u:***@h/vh?password=***;heartbeat=10 then text');
    expect(redactUrl('mongodb://h/?replicaSet=rs0&readPreference=primary')).toBe('mongodb://h/?replicaSet=rs0&readPreference=primary');
  });

  it('leaves URLs without credentials alone', () => {
    expect(redactUrl('mongodb://127.0.0.1:27017/')).toBe('mongodb://127.0.0.1:27017/');
    expect(redactUrl('no url here: just text')).toBe('no url here: just text');
  });
});
