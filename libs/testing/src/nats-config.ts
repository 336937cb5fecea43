// Renders the nats-server config files the local fixtures start from.

export interface NatsConfigInput {
  name: string;
  port: number;
  monitorPort: number;
  storeDir: string;
  jetstream: boolean;
  cluster?: { name: string; port: number; routePorts: number[] };
  extra?: string;
}

// JSON string syntax is valid quoted-string syntax in the nats config format.
const q = (value: string): string => JSON.stringify(value);

export function renderNatsConfig(c: NatsConfigInput): string {
  const lines = [
    `server_name: ${q(c.name)}`,
    `listen: ${q(`127.0.0.1:${c.port}`)}`,
    `http: ${q(`127.0.0.1:${c.monitorPort}`)}`,
  ];
  if (c.jetstream) {
    lines.push(
      'jetstream {',
      `  store_dir: ${q(c.storeDir)}`,
      '  max_memory_store: 256MB',
      '  max_file_store: 2GB',
      '}',
    );
  }
  if (c.cluster !== undefined) {
    lines.push(
      'cluster {',
      `  name: ${q(c.cluster.name)}`,
      `  listen: ${q(`127.0.0.1:${c.cluster.port}`)}`,
      '  routes: [',
      ...c.cluster.routePorts.map((p) => `    ${q(`nats-route://127.0.0.1:${p}`)}`),
      '  ]',
      '}',
    );
  }
  if (c.extra !== undefined && c.extra.trim() !== '') lines.push('', '# extra config from the test', c.extra);
  return `${lines.join('\n')}\n`;
}
