export { testEnv, repoRoot, type TestEnv } from './env';
export { uniqueName, testDatabaseName } from './names';
export { waitFor, type WaitForOptions } from './wait';
export { capabilities, probeCapabilities, type Capabilities } from './capabilities';
export { gate, type GateRecord } from './gate';
export { createTestDatabase, canRestartMongo, restartMongoStandIn, type TestDatabase } from './mongo';
export { createBrokerHelper, type BrokerHelper, type Collector, type CollectedMessage, type CollectorOptions } from './broker';
export { rabbitmqctl, closeAllBrokerConnections, closeBrokerConnectionsOf } from './broker-admin';
export {
  spawnService,
  stopAllServices,
  type ManagedProcess,
  type SpawnServiceOptions,
  type LogLine,
  type LogMatch,
  type ExitStatus,
} from './processes';
export { ferretdbBinary, startPrivateStandIn, type PrivateStandIn } from './private-stand-in';
