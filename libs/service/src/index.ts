// Public entry of @cascade/service: the process lifecycle every service's main.ts uses.
export { commonConfig, runService } from './run.js';
export type { RunningService, ServiceConfig, ServiceContext, ServiceDefinition } from './run.js';
export { serveHealthHttp, type HealthProbe } from './health-http.js';
