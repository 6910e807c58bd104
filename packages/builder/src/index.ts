export * from './batch-processor';
export * from './batcher';
export * from './broker/topology';
export * from './builder';
export * from './config';
export * from './metrics';
export * from './routing';
export * from './mongo-builder';
