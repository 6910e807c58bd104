export * from './auth';
export * from './catch-up';
export * from './config';
export * from './db/update-reader';
export * from './metrics';
export * from './request-params';
export * from './server';
export * from './memory-store';
