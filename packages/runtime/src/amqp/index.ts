export * from './confirm-publisher';
export * from './connection';
export * from './managed-channel';
export * from './ports';
