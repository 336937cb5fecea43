// The edge's own environment variables (the shared ones come from @cascade/service).
import { bytes, duration, int, optionalStr, port, str } from '@cascade/config';
import { authConfig } from './auth-config.js';
import { corsOriginsSpec } from './cors.js';

export const edgeConfig = {
  host: str({ env: 'EDGE_HOST', describe: 'Address the WebSocket/HTTP listener binds (0.0.0.0 in containers)', default: '127.0.0.1' }),
  port: port({ env: 'EDGE_PORT', describe: 'WebSocket and HTTP port (0 = any free port)', default: 8080 }),
  maxFrameBytes: bytes({ env: 'EDGE_MAX_FRAME_BYTES', describe: 'Largest frame a client may send; larger gets error 109 (twice as large is dropped)', default: '64KiB', min: '1KiB', max: '16MiB' }),
  maxConnections: int({ env: 'EDGE_MAX_CONNECTIONS', describe: 'Connections (WebSocket and SSE together) this node holds at most; more WebSockets are closed with 4005, more SSE streams get 503', default: 100_000, min: 1, max: 10_000_000 }),
  maxSubscriptions: int({ env: 'EDGE_MAX_SUBSCRIPTIONS', describe: 'Channels one connection may subscribe to', default: 128, min: 1, max: 100_000 }),
  maxBackpressure: bytes({ env: 'EDGE_MAX_BACKPRESSURE', describe: 'Unsent bytes buffered per connection before it is closed as too slow', default: '1MiB', min: '16KiB', max: '256MiB' }),
  idleTimeout: duration({ env: 'EDGE_IDLE_TIMEOUT', describe: 'A connection silent this long (pings included) is closed', default: '120s', min: '8s', max: '1h' }),
  connectTimeout: duration({ env: 'EDGE_CONNECT_TIMEOUT', describe: 'Time a new connection has to send its connect frame', default: '10s', min: '100ms', max: '5m' }),
  publishTimeout: duration({ env: 'EDGE_PUBLISH_TIMEOUT', describe: 'How long a publish waits for JetStream to store it', default: '5s', min: '100ms', max: '1m' }),
  ringSize: int({ env: 'EDGE_RING_SIZE', describe: 'Recent message frames kept in memory per channel with local subscribers, for quick resumes (0 = none)', default: 256, min: 0, max: 100_000 }),
  historyTimeout: duration({ env: 'EDGE_HISTORY_TIMEOUT', describe: 'How long a request to the history service may take', default: '5s', min: '100ms', max: '1m' }),
  apiKey: optionalStr({ env: 'EDGE_API_KEY', describe: 'When set, the HTTP server API (/v1/...) requires header "authorization: Bearer <key>" and HTTP publishing is on; unset = reads open, publishing off' }),
  drainWindow: duration({ env: 'EDGE_DRAIN_WINDOW', describe: 'On SIGTERM, clients are told to reconnect after a random delay within this window', default: '10s', min: '0ms', max: '10m' }),
  drainGrace: duration({ env: 'EDGE_DRAIN_GRACE', describe: 'Extra wait after the drain window before the rest are closed with 1001', default: '5s', min: '0ms', max: '10m' }),
  sseKeepalive: duration({ env: 'EDGE_SSE_KEEPALIVE', describe: 'Every SSE stream (GET /v1/sse) gets a ": ka" comment this often, so proxies and clients see it alive', default: '15s', min: '50ms', max: '5m' }),
  sseRetry: duration({ env: 'EDGE_SSE_RETRY', describe: 'The reconnect delay an SSE stream announces (`retry:`) to the browser', default: '1000ms', min: '0ms', max: '5m' }),
  staticDir: optionalStr({ env: 'EDGE_STATIC_DIR', describe: 'A directory served read-only under /demo/ (read into memory at start; / redirects to /demo/); unset = no static files' }),
  corsOrigins: corsOriginsSpec,
  // Authentication, permissions and publish limits (auth-config.ts).
  ...authConfig,
};
