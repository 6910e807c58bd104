/** Catch-up API entry point: `runService` (runtime) does config, logger, MongoDB, the ops server and signals. */
import { runService } from '@chat3/runtime';
import { createApiService } from './api-service';
import { loadApiConfig } from './config';

void runService({ name: 'chat3-api', loadConfig: loadApiConfig, create: createApiService });
