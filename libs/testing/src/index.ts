// Public entry of @cascade/testing: the fixtures every integration test (*.int.test.ts) uses.
export { freePort } from './ports.js';
export { uniqueName } from './names.js';
export { repoRoot } from './repo.js';
export { natsServerBinary } from './nats-binary.js';
export { startNatsServer, type NatsServerFixture, type StartNatsServerOptions } from './nats-server.js';
export { startNatsCluster, type NatsClusterFixture, type StartNatsClusterOptions } from './nats-cluster.js';
export { containerRuntimeAvailable, startNatsContainer, type NatsContainerFixture } from './nats-container.js';
export { natsFixture, type NatsFixture } from './nats-fixture.js';
export { spawnService, type ServiceProcess, type SpawnServiceOptions } from './processes.js';
export type { ExitInfo } from './child.js';
export { TestWsClient, type ConnectOptions, type CloseInfo } from './ws-client.js';
export {
  EDGE_NODE_OPTIONS,
  serviceEntry,
  startCascade,
  startCascadeService,
  uniquePrefix,
  type CascadeServiceName,
  type CascadeSystem,
  type EdgeProcess,
} from './system.js';
export { eventually, sleep } from './wait.js';
export { startTcpRelay, type TcpRelay } from './tcp-relay.js';
export { backendPublish, hs256Token } from './tokens.js';
