/** `@chat3/updates-client`: one user's Updates in seq order, from RabbitMQ and the catch-up API. */
export * from './catch-up-api';
export * from './client-options';
export * from './sequencer';
export * from './update-body';
export * from './updates-client';
