// Reads nats-server's HTTP monitoring endpoints (/healthz, /routez, /jsz, ...).

export interface MonitorResponse {
  status: number;
  body: string;
}

export async function monitorGet(monitorPort: number, path: string): Promise<MonitorResponse> {
  const res = await fetch(`http://127.0.0.1:${monitorPort}${path}`, { signal: AbortSignal.timeout(2_000) });
  return { status: res.status, body: await res.text() };
}

export async function monitorJson<T>(monitorPort: number, path: string): Promise<T> {
  const { status, body } = await monitorGet(monitorPort, path);
  if (status !== 200) throw new Error(`GET ${path} on monitor port ${monitorPort}: HTTP ${status}: ${body}`);
  return JSON.parse(body) as T;
}

// Connection refused while the server is still binding is expected, so errors mean "not yet".
export async function isHealthy(monitorPort: number): Promise<{ ok: boolean; detail: string }> {
  try {
    const { status, body } = await monitorGet(monitorPort, '/healthz');
    return { ok: status === 200, detail: `HTTP ${status} ${body.trim()}` };
  } catch (err) {
    return { ok: false, detail: err instanceof Error ? err.message : String(err) };
  }
}
