export * from './change-stream';
export * from './config';
export * from './db/update-queries';
export * from './dispatcher';
export * from './metrics';
export * from './relay';
export * from './sweeper';
