// Static checks of the deployment files (infra/docker, .dockerignore, infra/nats,
// infra/compose, k8s): they must agree with the code they deploy. No network, no Docker,
// no cluster: files are parsed and compared with the services' own config specs and the
// NATS contract. Each check is a function returning its problems, so the last block can
// prove every check fails on a broken copy of the files.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '@cascade/config';
import { Contract, natsConfig } from '@cascade/nats';
import { commonConfig } from '@cascade/service';
import { EDGE_NODE_OPTIONS } from '@cascade/testing';
import { edgeConfig } from '../services/edge-gateway/src/config.ts';

// Parsed YAML is untyped data; the checks below inspect it field by field.
type Json = any;
type Env = Record<string, string>;

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const read = (rel: string): string => readFileSync(join(ROOT, rel), 'utf8');

// ---- what the code says ---------------------------------------------------------------

/** Variables the services read, plus NODE_ENV (log format default) and SERVICE (image CMD). */
const KNOWN_ENV = new Set([
  ...Object.values(commonConfig).map((s) => s.env),
  ...Object.values(edgeConfig).map((s) => s.env),
  'NODE_ENV',
  'NODE_OPTIONS',
  'SERVICE',
]);
/** The variables every service must see with the same value (streams/buckets "ensure"). */
const SHARED_ENV = Object.values(natsConfig).map((s) => s.env);
const EDGE = 'edge-gateway';
const HEALTH_PATHS = new Set(['/healthz', '/readyz']);
/** The history stream stores RT_MAX_MESSAGE_BYTES + 4KiB; headers need room on top. */
const PAYLOAD_MARGIN = 64 * 1024;

const serviceExists = (name: string | undefined): boolean =>
  name !== undefined && /^[a-z0-9-]+$/.test(name) && existsSync(join(ROOT, 'services', name, 'src', 'main.ts'));

/** Workspace folders, expanded from the root package.json's globs (`libs/*`). */
function workspaces(): string[] {
  const globs: string[] = JSON.parse(read('package.json')).workspaces;
  return globs.flatMap((g) => {
    if (!g.endsWith('/*')) return [g];
    const dir = g.slice(0, -2);
    return readdirSync(join(ROOT, dir))
      .map((d) => `${dir}/${d}`)
      .filter((d) => existsSync(join(ROOT, d, 'package.json')));
  });
}

/** What a service would load from `env`: throws ConfigError (naming the variable) if invalid. */
function loadServiceConfig(service: string, env: Env) {
  return loadConfig({ ...commonConfig, ...(service === EDGE ? edgeConfig : {}) }, env);
}

/** The port and bind address of a service's health endpoint, or a problem. */
function healthListener(service: string, env: Env): { port: number; host: string } | string {
  let cfg;
  try {
    cfg = loadServiceConfig(service, env);
  } catch (e) {
    return `${service}: invalid configuration: ${(e as Error).message}`;
  }
  if (service === EDGE) {
    const edge = loadConfig(edgeConfig, env);
    return { port: edge.port, host: edge.host };
  }
  if (cfg.healthPort === undefined) return `${service}: HEALTH_PORT unset, so no /healthz or /readyz is served`;
  return { port: cfg.healthPort, host: cfg.healthHost };
}

// ---- file helpers -------------------------------------------------------------------------

function yamlFiles(dir: string): string[] {
  const abs = join(ROOT, dir);
  return readdirSync(abs).flatMap((f) => {
    const rel = `${dir}/${f}`;
    if (statSync(join(ROOT, rel)).isDirectory()) return yamlFiles(rel);
    return /\.ya?ml$/.test(f) ? [rel] : [];
  });
}

/** Every document of a YAML text as plain data; throws on any parse error. Merge keys on (compose). */
function parseYaml(text: string, name: string): Json[] {
  const docs = parseAllDocuments(text, { merge: true });
  if (!Array.isArray(docs)) return [];
  for (const d of docs) {
    if (d.errors.length > 0) throw new Error(`${name}: ${d.errors.map((e) => e.message).join('; ')}`);
  }
  return docs.map((d) => d.toJS()).filter((d) => d !== null && d !== undefined);
}

const yamlOf = (rel: string): Json[] => parseYaml(read(rel), rel);

// ---- Dockerfile ---------------------------------------------------------------------------

interface Instruction {
  op: string;
  args: string;
}

/** Instructions with continuation lines joined and comments dropped. */
function dockerInstructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue; // comment inside a continuation
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = pending + line;
    pending = '';
    const m = /^(\S+)\s*(.*)$/.exec(full);
    if (m) out.push({ op: m[1]!.toUpperCase(), args: m[2]! });
  }
  return out;
}

/** `KEY=value KEY2="v 2"` (or legacy `KEY value`) of an ENV or ARG instruction. */
function keyValues(args: string): Env {
  const env: Env = {};
  if (!args.includes('=')) {
    const [k, ...rest] = args.split(/\s+/);
    if (k) env[k] = rest.join(' ');
    return env;
  }
  for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("([^"]*)"|'([^']*)'|(\S*))/g)) {
    env[m[1]!] = m[3] ?? m[4] ?? m[5] ?? '';
  }
  return env;
}

interface DockerStage {
  image: string;
  name?: string;
  instructions: Instruction[];
}

function dockerStages(text: string): DockerStage[] {
  const globalArgs: Env = {};
  const stages: DockerStage[] = [];
  for (const ins of dockerInstructions(text)) {
    if (ins.op === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      const image = (m?.[1] ?? '').replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, v: string) => globalArgs[v] ?? '');
      stages.push({ image, ...(m?.[2] ? { name: m[2] } : {}), instructions: [] });
    } else if (stages.length === 0) {
      if (ins.op === 'ARG') Object.assign(globalArgs, keyValues(ins.args));
    } else {
      stages.at(-1)!.instructions.push(ins);
    }
  }
  return stages;
}

/** The runtime environment the image gives every container (ENV of the final stage). */
function imageEnv(text: string): Env {
  const final = dockerStages(text).at(-1);
  return Object.assign({}, ...(final?.instructions ?? []).filter((i) => i.op === 'ENV').map((i) => keyValues(i.args)));
}

/** glibc Node >= 20: node:<major>[-<debian codename>][-slim]. Alpine (musl) cannot load uWS. */
function isGlibcNode20(image: string): boolean {
  const m = /^(?:docker\.io\/)?(?:library\/)?node:(\d+)(?:\.\d+)*(?:-([a-z0-9-]+))?(?:@sha256:[0-9a-f]+)?$/.exec(image);
  if (!m || Number(m[1]) < 20) return false;
  const variant = m[2];
  return variant === undefined || /^(?:(?:bookworm|bullseye|trixie)(?:-slim)?|slim)$/.test(variant);
}

function dockerfileProblems(text: string, wsDirs: string[]): string[] {
  const problems: string[] = [];
  const stages = dockerStages(text);
  if (stages.length === 0) return ['no FROM'];
  const names = new Set(stages.flatMap((s) => (s.name ? [s.name] : [])));
  for (const s of stages) {
    if (!names.has(s.image) && !isGlibcNode20(s.image)) problems.push(`base image ${s.image || '(empty)'} is not a glibc node 20+ image`);
  }
  const all = stages.flatMap((s) => s.instructions);
  const ci = all.findIndex((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args));
  if (ci < 0) problems.push('no RUN npm ci');
  else if (!/--omit=dev\b/.test(all[ci]!.args)) problems.push('npm ci without --omit=dev');
  const copiedBefore = (path: string) =>
    all.slice(0, Math.max(ci, 0)).some((i) => i.op === 'COPY' && i.args.split(/\s+/).slice(0, -1).includes(path));
  for (const f of ['package.json', 'package-lock.json', ...wsDirs.map((d) => `${d}/package.json`)]) {
    if (!copiedBefore(f)) problems.push(`${f} is not copied before npm ci (npm ci needs every workspace manifest)`);
  }
  for (const src of ['libs/', 'services/']) {
    const at = all.findIndex((i) => i.op === 'COPY' && i.args.split(/\s+/)[0] === src);
    if (at < 0) problems.push(`sources ${src} are not copied`);
    else if (at < ci) problems.push(`sources ${src} are copied before npm ci: every edit would reinstall dependencies`);
  }
  const final = stages.at(-1)!.instructions;
  const user = final.filter((i) => i.op === 'USER').at(-1)?.args.split(':')[0];
  if (user === undefined || user === 'root' || user === '0') problems.push(`runtime user is ${user ?? 'root (no USER)'}`);
  const env = imageEnv(text);
  const want: Env = { NODE_ENV: 'production', EDGE_HOST: '0.0.0.0', HEALTH_HOST: '0.0.0.0' };
  for (const [k, v] of Object.entries(want)) if (env[k] !== v) problems.push(`ENV ${k} is ${env[k]}, want ${v}`);
  if (!serviceExists(env['SERVICE'])) problems.push(`ENV SERVICE=${env['SERVICE']} names no services/<name>/src/main.ts`);
  const exposed = final.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(/\s+/));
  for (const p of ['8080', '8081']) if (!exposed.includes(p)) problems.push(`EXPOSE lacks ${p}`);
  const cmd = final.filter((i) => i.op === 'CMD').at(-1);
  let argv: unknown;
  try {
    argv = cmd ? JSON.parse(cmd.args) : undefined;
  } catch {
    argv = undefined;
  }
  if (!Array.isArray(argv) || argv[0] !== 'sh' || argv[1] !== '-c' || typeof argv[2] !== 'string') {
    problems.push('CMD is not ["sh", "-c", "..."]');
  } else {
    if (!argv[2].includes('services/${SERVICE}/src/main.ts')) problems.push('CMD does not run services/${SERVICE}/src/main.ts');
    if (!/\bexec node --import @cascade\/ts-loader\b/.test(argv[2])) problems.push('CMD does not exec node --import @cascade/ts-loader (SIGTERM must reach node)');
  }
  return problems;
}

// ---- .dockerignore -----------------------------------------------------------------------

/** Docker's matcher, enough for our patterns: `**` any depth, `*` and `?` within a segment, `!` re-includes. */
function dockerIgnored(patterns: string[], path: string): boolean {
  const rules = patterns.map((p) => {
    const negate = p.startsWith('!');
    const body = posix.normalize((negate ? p.slice(1) : p).trim().replace(/^\/+/, ''));
    const re = body
      .split('/')
      .map((seg) =>
        seg === '**' ? '(?:.*)' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]'),
      )
      .join('/')
      .replace(/\(\?:\.\*\)\//g, '(?:.*/)?');
    return { negate, re: new RegExp(`^${re}$`) };
  });
  const parts = path.split('/');
  let ignored = false;
  for (let n = 1; n <= parts.length; n++) {
    const prefix = parts.slice(0, n).join('/');
    for (const r of rules) if (r.re.test(prefix)) ignored = !r.negate;
    if (ignored) return true; // an excluded directory excludes everything below it
  }
  return ignored;
}

function dockerignorePatterns(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

function dockerignoreProblems(text: string, mustKeep: string[]): string[] {
  const patterns = dockerignorePatterns(text);
  const problems: string[] = [];
  for (const p of ['node_modules/tsx/package.json', 'services/edge-gateway/node_modules/x/index.js']) {
    if (!dockerIgnored(patterns, p)) problems.push(`${p} is not ignored (host node_modules must stay out)`);
  }
  if (!dockerIgnored(patterns, 'libs/config/src/load.test.ts')) problems.push('*.test.ts files are not ignored');
  for (const p of mustKeep) if (dockerIgnored(patterns, p)) problems.push(`${p} is ignored but the image needs it`);
  return problems;
}

// ---- nats-server config ---------------------------------------------------------------------

/** The `mappings { "from": "to" }` block(s) of a nats-server config. */
function natsConfMappings(text: string): Record<string, string> {
  const lines = text.split('\n').map((l) => l.replace(/^\s*(#|\/\/).*$/, ''));
  const out: Record<string, string> = {};
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*mappings\s*[:=]?\s*\{\s*$/.test(lines[i]!)) continue;
    for (i++; i < lines.length && !/^\s*\}\s*$/.test(lines[i]!); i++) {
      const m = /^\s*"([^"]+)"\s*[:=]?\s*"([^"]+)"\s*,?\s*$/.exec(lines[i]!);
      if (m) out[m[1]!] = m[2]!;
      else if (lines[i]!.trim() !== '') throw new Error(`unreadable mapping line: ${lines[i]}`);
    }
  }
  return out;
}

/** A nats-server size (`2MB`, `1048576`, `<< 2MB >>`): nats units are powers of 1024. */
function natsSize(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  const m = /^(?:<<\s*)?(\d+)\s*([KMG]?)(?:I?B?)?(?:\s*>>)?$/i.exec(value.trim());
  if (!m) return undefined;
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Number(m[1]) * unit;
}

function natsConfMaxPayload(text: string): number | undefined {
  const m = /^\s*max_payload\s*[:=]?\s*(\S+)/m.exec(text.replace(/#.*$/gm, ''));
  return m ? natsSize(m[1]) : undefined;
}

/** The mapping and payload limit must fit the services' prefix, partitions and message size. */
function natsProblems(
  where: string,
  mappings: Record<string, string>,
  maxPayload: number | undefined,
  cfg: { prefix: string; partitions: number; maxMessageBytes: number },
): string[] {
  const problems: string[] = [];
  const want = new Contract({ prefix: cfg.prefix, partitions: cfg.partitions }).serverMapping();
  if (JSON.stringify(mappings) !== JSON.stringify({ [want.from]: want.to })) {
    problems.push(`${where}: mappings ${JSON.stringify(mappings)} != Contract.serverMapping() ${JSON.stringify(want)}`);
  }
  const need = cfg.maxMessageBytes + PAYLOAD_MARGIN;
  if (maxPayload === undefined || maxPayload < need) problems.push(`${where}: max_payload ${maxPayload} < ${need}`);
  return problems;
}

// ---- Kubernetes -----------------------------------------------------------------------------

interface K8sContainer {
  where: string;
  service: string;
  env: Env;
  container: Json;
  pod: Json;
}

function k8sObjects(): { file: string; obj: Json }[] {
  return yamlFiles('k8s')
    .filter((f) => !f.endsWith('/kustomization.yaml') && !f.endsWith('/nats-values.yaml'))
    .flatMap((file) => yamlOf(file).map((obj) => ({ file, obj })));
}

/** Each Cascade container with its effective environment: image ENV < envFrom ConfigMaps < env. */
function k8sContainers(objects: Json[], baseEnv: Env): { containers: K8sContainer[]; problems: string[] } {
  const problems: string[] = [];
  const configMaps = new Map<string, Json>(objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata?.name, o.data ?? {}]));
  const containers: K8sContainer[] = [];
  for (const d of objects.filter((o) => o.kind === 'Deployment')) {
    const pod = d.spec?.template?.spec ?? {};
    for (const c of pod.containers ?? []) {
      const where = `Deployment ${d.metadata?.name} container ${c.name}`;
      const env: Env = { ...baseEnv };
      for (const from of c.envFrom ?? []) {
        const name = from.configMapRef?.name;
        if (!configMaps.has(name)) problems.push(`${where}: envFrom names unknown ConfigMap ${name}`);
        Object.assign(env, configMaps.get(name) ?? {});
      }
      for (const e of c.env ?? []) {
        // A value from a Secret is only known at deploy time; it must name a key.
        const fromSecret = e.valueFrom?.secretKeyRef;
        if (fromSecret) {
          if (typeof fromSecret.name !== 'string' || typeof fromSecret.key !== 'string') problems.push(`${where}: env ${e.name} secretKeyRef needs name and key`);
          env[e.name] = `<secret ${fromSecret.name}/${fromSecret.key}>`;
          continue;
        }
        if (typeof e.value !== 'string') problems.push(`${where}: env ${e.name} is not a string`);
        env[e.name] = String(e.value);
      }
      containers.push({ where, service: env['SERVICE'] ?? '', env, container: c, pod });
    }
  }
  return { containers, problems };
}

function labelsMatch(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  return selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

function k8sProblems(objects: Json[], baseEnv: Env, natsReplicas: number): string[] {
  const problems: string[] = [];
  for (const o of objects) {
    if (o.kind !== 'Namespace' && o.metadata?.namespace !== 'cascade') problems.push(`${o.kind} ${o.metadata?.name} is not in namespace cascade`);
  }
  for (const cm of objects.filter((o) => o.kind === 'ConfigMap')) {
    for (const [k, v] of Object.entries(cm.data ?? {})) {
      if (typeof v !== 'string') problems.push(`ConfigMap ${cm.metadata?.name}: ${k} is not a string (Kubernetes rejects it)`);
      if (!KNOWN_ENV.has(k)) problems.push(`ConfigMap ${cm.metadata?.name}: unknown variable ${k}`);
    }
  }
  const shared = objects.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === 'cascade-config')?.data ?? {};
  const wantShared: Env = { NATS_URL: 'nats://nats.cascade.svc:4222', RT_STREAM_REPLICAS: '3', NODE_ENV: 'production', LOG_FORMAT: 'json' };
  for (const [k, v] of Object.entries(wantShared)) if (shared[k] !== v) problems.push(`cascade-config ${k} is ${shared[k]}, want ${v}`);
  if (Number(shared.RT_STREAM_REPLICAS ?? 1) > natsReplicas) problems.push(`RT_STREAM_REPLICAS exceeds the ${natsReplicas} NATS nodes`);

  const deployments = objects.filter((o) => o.kind === 'Deployment');
  for (const d of deployments) {
    const name = d.metadata?.name;
    if (!labelsMatch(d.spec?.selector?.matchLabels, d.spec?.template?.metadata?.labels)) {
      problems.push(`Deployment ${name}: selector does not match the template labels`);
    }
    if ((d.spec?.template?.spec?.terminationGracePeriodSeconds ?? 30) < 60) problems.push(`Deployment ${name}: terminationGracePeriodSeconds < 60`);
  }
  const { containers, problems: envProblems } = k8sContainers(objects, baseEnv);
  problems.push(...envProblems);
  const services = new Set<string>();
  for (const { where, service, env, container: c, pod } of containers) {
    services.add(service);
    for (const e of c.env ?? []) {
      if (!KNOWN_ENV.has(e.name)) problems.push(`${where}: unknown variable ${e.name}`);
      if (SHARED_ENV.includes(e.name)) problems.push(`${where}: ${e.name} must come from the shared ConfigMap only`);
    }
    if (!serviceExists(service)) problems.push(`${where}: SERVICE=${service} names no services/<name>/src/main.ts`);
    if (c.image?.split(':')[0] !== 'cascade') problems.push(`${where}: image ${c.image} is not the "cascade" image kustomization.yaml rewrites`);
    const listener = healthListener(service, env);
    if (typeof listener === 'string') {
      problems.push(`${where}: ${listener}`);
      continue;
    }
    if (listener.host === '127.0.0.1' || listener.host === 'localhost') problems.push(`${where}: listens on ${listener.host}, probes cannot reach it`);
    const ports = new Map<string | number, number>();
    for (const p of c.ports ?? []) {
      ports.set(p.containerPort, p.containerPort);
      if (p.name) ports.set(p.name, p.containerPort);
    }
    if (![...ports.values()].includes(listener.port)) problems.push(`${where}: no containerPort ${listener.port}`);
    for (const [probe, path] of [
      ['readinessProbe', '/readyz'],
      ['livenessProbe', '/healthz'],
      ['startupProbe', undefined],
    ] as const) {
      const get = c[probe]?.httpGet;
      if (!get) {
        if (probe !== 'startupProbe') problems.push(`${where}: no ${probe}.httpGet`);
        continue;
      }
      const port = ports.get(get.port);
      if (port === undefined) problems.push(`${where}: ${probe} port ${get.port} is no containerPort`);
      else if (port !== listener.port) problems.push(`${where}: ${probe} asks port ${port}, the service listens on ${listener.port}`);
      if (!HEALTH_PATHS.has(get.path)) problems.push(`${where}: ${probe} path ${get.path} is not /healthz or /readyz`);
      else if (path !== undefined && get.path !== path) problems.push(`${where}: ${probe} should ask ${path}, not ${get.path}`);
    }
    for (const kind of ['requests', 'limits']) {
      for (const r of ['cpu', 'memory']) if (c.resources?.[kind]?.[r] === undefined) problems.push(`${where}: no resources.${kind}.${r}`);
    }
    const sc = { ...pod.securityContext, ...c.securityContext };
    if (sc.runAsNonRoot !== true) problems.push(`${where}: runAsNonRoot is not true`);
    // The image's USER is a name; the kubelet refuses runAsNonRoot unless the uid is numeric.
    if (!(Number.isInteger(sc.runAsUser) && sc.runAsUser > 0)) problems.push(`${where}: runAsUser is not a non-zero uid`);
    if (c.securityContext?.readOnlyRootFilesystem !== true) problems.push(`${where}: readOnlyRootFilesystem is not true`);
    // A read-only root keeps /tmp writable for diagnostics (node --report, heap snapshots).
    const tmp = (c.volumeMounts ?? []).find((m: Json) => m.mountPath === '/tmp');
    const vol = (pod.volumes ?? []).find((v: Json) => v.name === tmp?.name);
    if (!vol?.emptyDir) problems.push(`${where}: /tmp is not a writable emptyDir (no room for diagnostics)`);
  }
  for (const s of readdirSync(join(ROOT, 'services'))) if (!services.has(s)) problems.push(`no Deployment runs ${s}`);

  const edge = containers.find((c) => c.service === EDGE);
  const edgeDeployment = deployments.find((d) => d.spec?.template?.spec?.containers?.includes(edge?.container));
  if (edgeDeployment?.spec?.replicas !== 2) problems.push('edge-gateway should run 2 replicas');
  // The edge's V8 flags are those the tests and benchmarks run it with.
  if (edge?.env['NODE_OPTIONS'] !== EDGE_NODE_OPTIONS) problems.push(`edge-gateway NODE_OPTIONS is ${edge?.env['NODE_OPTIONS']}, want ${EDGE_NODE_OPTIONS}`);
  for (const c of containers) if (c.service !== EDGE && c.env['NODE_OPTIONS'] !== undefined) problems.push(`${c.where}: NODE_OPTIONS is meant for the edge only`);
  const fanout = deployments.find((d) => d.metadata?.name === 'fan-out-worker');
  // Partition leases let several workers share the partitions; one would stop delivery for
  // every restart.
  if (typeof fanout?.spec?.replicas !== 'number' || fanout.spec.replicas < 2) {
    problems.push('fan-out-worker should run at least 2 replicas (partitions fail over through leases)');
  }
  const podLabels = deployments.map((d) => d.spec?.template?.metadata?.labels);
  for (const o of objects.filter((x) => x.kind === 'Service' || x.kind === 'PodDisruptionBudget')) {
    const selector = o.kind === 'Service' ? o.spec?.selector : o.spec?.selector?.matchLabels;
    if (!podLabels.some((l) => labelsMatch(selector, l))) problems.push(`${o.kind} ${o.metadata?.name}: selector matches no Deployment's pods`);
  }
  const edgeService = objects.find((o) => o.kind === 'Service' && labelsMatch(o.spec?.selector, edgeDeployment?.spec?.template?.metadata?.labels));
  const edgePort = edgeService?.spec?.ports?.[0];
  const edgePorts = edge?.container.ports ?? [];
  if (edgePort?.port !== 80) problems.push('edge Service does not expose port 80');
  if (!edgePorts.some((p: Json) => p.name === edgePort?.targetPort || p.containerPort === edgePort?.targetPort)) {
    problems.push(`edge Service targetPort ${edgePort?.targetPort} is no edge containerPort`);
  }
  if (!objects.some((o) => o.kind === 'PodDisruptionBudget' && labelsMatch(o.spec?.selector?.matchLabels, edgeDeployment?.spec?.template?.metadata?.labels))) {
    problems.push('no PodDisruptionBudget for edge-gateway');
  }
  return problems;
}

// ---- compose ----------------------------------------------------------------------------------

function composeEnv(env: Json): Env {
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((e: string) => [e.split('=')[0], e.slice(e.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(env ?? {}).map(([k, v]) => [k, String(v)]));
}

/** Services built from the Cascade Dockerfile (the others are NATS). */
function isCascadeService(s: Json): boolean {
  return s.build !== undefined || String(s.image ?? '').split(':')[0] === 'cascade';
}

function composeProblems(compose: Json, baseEnv: Env, clusterConf: string): string[] {
  const problems: string[] = [];
  const services: Record<string, Json> = compose.services ?? {};
  const nats = Object.entries(services).filter(([, s]) => !isCascadeService(s));
  const cascade = Object.entries(services).filter(([, s]) => isCascadeService(s));

  // NATS nodes: the shared config, a distinct server name each, all routed to each other.
  const routes = [...clusterConf.matchAll(/nats-route:\/\/([^:\s]+):6222/g)].map((m) => m[1]);
  const names = new Set<string>();
  for (const [name, s] of nats) {
    if (!(s.volumes ?? []).some((v: string) => /^\.\.\/nats\/cluster\.conf:/.test(v))) problems.push(`${name}: does not mount ../nats/cluster.conf`);
    const server = composeEnv(s.environment)['NATS_SERVER_NAME'];
    if (!server || names.has(server)) problems.push(`${name}: NATS_SERVER_NAME missing or not unique`);
    names.add(server ?? '');
    if (!routes.includes(name)) problems.push(`${name}: not among the routes of cluster.conf`);
  }
  if (nats.length < 3) problems.push(`${nats.length} NATS nodes, want 3`);

  const seen = new Set<string>();
  let sharedRef: Record<string, string | undefined> | undefined;
  for (const [name, s] of cascade) {
    const where = `compose service ${name}`;
    const dockerfile = join(ROOT, 'infra/compose', s.build?.context ?? '.', s.build?.dockerfile ?? 'Dockerfile');
    if (relative(ROOT, join(ROOT, 'infra/compose', s.build?.context ?? '.')) !== '') problems.push(`${where}: build context is not the repository root`);
    if (!existsSync(dockerfile) || relative(ROOT, dockerfile) !== 'infra/docker/Dockerfile') problems.push(`${where}: dockerfile is not infra/docker/Dockerfile`);
    const own = composeEnv(s.environment);
    for (const k of Object.keys(own)) if (!KNOWN_ENV.has(k)) problems.push(`${where}: unknown variable ${k}`);
    const env = { ...baseEnv, ...own };
    const service = env['SERVICE'] ?? '';
    seen.add(service);
    if (!serviceExists(service)) problems.push(`${where}: SERVICE=${service} names no services/<name>/src/main.ts`);
    const shared = Object.fromEntries(SHARED_ENV.map((k) => [k, env[k]]));
    if (sharedRef === undefined) sharedRef = shared;
    else if (JSON.stringify(shared) !== JSON.stringify(sharedRef)) problems.push(`${where}: shared RT_*/NATS_URL values differ between services`);
    const urls = (env['NATS_URL'] ?? '').split(',').map((u) => /^nats:\/\/([^:]+):4222$/.exec(u.trim())?.[1]);
    for (const [n] of nats) if (!urls.includes(n)) problems.push(`${where}: NATS_URL does not list ${n}`);
    if (env['RT_STREAM_REPLICAS'] !== '3') problems.push(`${where}: RT_STREAM_REPLICAS is ${env['RT_STREAM_REPLICAS']}, want 3`);
    if ((env['NODE_OPTIONS'] ?? '') !== (service === EDGE ? EDGE_NODE_OPTIONS : '')) problems.push(`${where}: NODE_OPTIONS is ${env['NODE_OPTIONS']}, want ${service === EDGE ? EDGE_NODE_OPTIONS : 'none'}`);
    const listener = healthListener(service, env);
    if (typeof listener === 'string') {
      problems.push(`${where}: ${listener}`);
      continue;
    }
    const test = (s.healthcheck?.test ?? []).join(' ');
    const m = /http:\/\/(?:127\.0\.0\.1|localhost):(\d+)(\/[a-z]*)/.exec(test);
    if (!m) problems.push(`${where}: healthcheck asks no http://127.0.0.1:<port>/<path>`);
    else {
      if (Number(m[1]) !== listener.port) problems.push(`${where}: healthcheck asks port ${m[1]}, the service listens on ${listener.port}`);
      if (!HEALTH_PATHS.has(m[2]!)) problems.push(`${where}: healthcheck path ${m[2]} is not /healthz or /readyz`);
    }
    if (/\b(curl|wget)\b/.test(test)) problems.push(`${where}: healthcheck uses curl/wget, which the slim image lacks`);
    if (service === EDGE) {
      if (listener.host === '127.0.0.1' || listener.host === 'localhost') problems.push(`${where}: EDGE_HOST ${listener.host} is unreachable from outside`);
      const targets = (s.ports ?? []).map((p: Json) => Number(typeof p === 'object' ? p.target : String(p).split(':').at(-1)));
      if (!targets.includes(listener.port)) problems.push(`${where}: port ${listener.port} is not published`);
    }
  }
  for (const svc of readdirSync(join(ROOT, 'services'))) if (!seen.has(svc)) problems.push(`compose runs no ${svc}`);
  return problems;
}

// ---- the checks on the real files ---------------------------------------------------------------

const dockerfile = read('infra/docker/Dockerfile');
const baseEnv = imageEnv(dockerfile);
const clusterConf = read('infra/nats/cluster.conf');
const natsValues = yamlOf('k8s/nats-values.yaml')[0];
const compose = yamlOf('infra/compose/compose.yaml')[0];
const objects = k8sObjects().map((o) => o.obj);
const wsDirs = workspaces();
const mustKeep = [
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  ...wsDirs.map((d) => `${d}/package.json`),
  ...readdirSync(join(ROOT, 'services')).map((s) => `services/${s}/src/main.ts`),
  ...readdirSync(join(ROOT, 'libs')).map((l) => `libs/${l}/src/index.ts`),
];

describe('YAML files', () => {
  const files = [...yamlFiles('k8s'), ...yamlFiles('infra/compose')];
  it('exist', () => {
    expect(files).toContain('infra/compose/compose.yaml');
    expect(files).toContain('k8s/kustomization.yaml');
  });
  it.each(files)('%s parses without errors', (file) => {
    expect(yamlOf(file).length).toBeGreaterThan(0);
  });
});

describe('environment variables', () => {
  it('the known set comes from the config specs', () => {
    expect(KNOWN_ENV).toContain('NATS_URL');
    expect(KNOWN_ENV).toContain('HEALTH_PORT');
    expect(KNOWN_ENV).toContain('EDGE_IDLE_TIMEOUT');
  });
  it('the image sets only known variables', () => {
    expect(Object.keys(baseEnv).filter((k) => !KNOWN_ENV.has(k))).toEqual([]);
  });
});

describe('infra/docker/Dockerfile', () => {
  it('is a glibc node 20+ multi-stage build running services/${SERVICE}/src/main.ts', () => {
    expect(dockerfileProblems(dockerfile, wsDirs)).toEqual([]);
  });
  it('names every workspace the lockfile knows', () => {
    const lockWorkspaces = Object.keys(JSON.parse(read('package-lock.json')).packages).filter((k) => /^(libs\/[^/]+|services\/[^/]+|bench)$/.test(k));
    expect(wsDirs.sort()).toEqual(lockWorkspaces.sort());
  });
});

describe('.dockerignore', () => {
  it('keeps node_modules and tests out, and what the image needs in', () => {
    expect(dockerignoreProblems(read('.dockerignore'), mustKeep)).toEqual([]);
  });
});

describe('NATS mapping and limits', () => {
  const rt = { prefix: 'rt', partitions: 16, maxMessageBytes: 1024 * 1024 };
  it('infra/nats/cluster.conf has Contract.serverMapping() and a large enough max_payload', () => {
    expect(natsProblems('cluster.conf', natsConfMappings(clusterConf), natsConfMaxPayload(clusterConf), rt)).toEqual([]);
  });
  it('k8s/nats-values.yaml has the same mapping, 3 nodes and JetStream on a 10Gi PVC', () => {
    const c = natsValues.config;
    expect(natsProblems('nats-values.yaml', c.merge.mappings, natsSize(c.merge.max_payload), rt)).toEqual([]);
    expect(c.cluster).toMatchObject({ enabled: true, replicas: 3 });
    expect(c.jetstream).toMatchObject({ enabled: true, fileStore: { enabled: true, pvc: { enabled: true, size: '10Gi' } } });
  });
  it('agrees with the prefix, partitions and message size the deployed services use', () => {
    const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'cascade-config').data;
    const k8s = loadConfig(natsConfig, { ...baseEnv, ...configMap });
    expect(natsProblems('nats-values.yaml', natsValues.config.merge.mappings, natsSize(natsValues.config.merge.max_payload), k8s)).toEqual([]);
    const edge = compose.services['edge-gateway'];
    const local = loadConfig(natsConfig, { ...baseEnv, ...composeEnv(edge.environment) });
    expect(natsProblems('cluster.conf', natsConfMappings(clusterConf), natsConfMaxPayload(clusterConf), local)).toEqual([]);
  });
});

describe('infra/compose/compose.yaml', () => {
  it('runs 3 NATS nodes and the four services with valid, shared config and matching healthchecks', () => {
    expect(composeProblems(compose, baseEnv, clusterConf)).toEqual([]);
  });
});

describe('k8s/', () => {
  it('Deployments, Service, PDBs and ConfigMap agree with the services', () => {
    expect(k8sProblems(objects, baseEnv, natsValues.config.cluster.replicas)).toEqual([]);
  });
  it('kustomization.yaml lists every manifest and rewrites the cascade image', () => {
    const k = yamlOf('k8s/kustomization.yaml')[0];
    const manifests = yamlFiles('k8s')
      .filter((f) => !/\/(kustomization|nats-values)\.yaml$/.test(f))
      .map((f) => f.slice('k8s/'.length));
    expect([...k.resources].sort()).toEqual(manifests.sort());
    expect(k.namespace).toBe('cascade');
    expect(k.images).toContainEqual(expect.objectContaining({ name: 'cascade' }));
  });
});

// ---- the checks catch broken files -------------------------------------------------------------

describe('the checks fail on broken files', () => {
  const clone = <T>(v: T): T => structuredClone(v);
  const broken = (edit: (objs: Json[]) => void): string[] => {
    const copy = clone(objects);
    edit(copy);
    return k8sProblems(copy, baseEnv, 3);
  };
  const deployment = (objs: Json[], name: string) => objs.find((o) => o.kind === 'Deployment' && o.metadata.name === name);
  const container = (objs: Json[], name: string) => deployment(objs, name).spec.template.spec.containers[0];

  it('Dockerfile', () => {
    const bad = (from: string, to: string) => dockerfileProblems(dockerfile.replaceAll(from, to), wsDirs);
    expect(bad('node:20-bookworm-slim', 'node:20-alpine')).not.toEqual([]);
    expect(bad('node:20-bookworm-slim', 'node:18-bookworm-slim')).not.toEqual([]);
    expect(bad('services/${SERVICE}/src/main.ts', 'services/$SERVICE/main.ts')).not.toEqual([]);
    expect(bad('exec node', 'node')).not.toEqual([]);
    expect(bad('COPY libs/nats/package.json libs/nats/', '')).not.toEqual([]);
    expect(bad('--omit=dev', '')).not.toEqual([]);
    expect(bad('USER node', 'USER root')).not.toEqual([]);
    expect(bad('EDGE_HOST=0.0.0.0', 'EDGE_HOST=127.0.0.1')).not.toEqual([]);
  });

  it('.dockerignore', () => {
    const text = read('.dockerignore');
    expect(dockerignoreProblems(text.replace(/^\*\*\/node_modules$/m, '').replace(/^node_modules$/m, ''), mustKeep)).not.toEqual([]);
    expect(dockerignoreProblems(`${text}\nservices\n`, mustKeep)).not.toEqual([]);
    expect(dockerignoreProblems(`${text}\n*.json\n`, mustKeep)).not.toEqual([]);
  });

  it('NATS mapping and payload', () => {
    const rt = { prefix: 'rt', partitions: 16, maxMessageBytes: 1024 * 1024 };
    expect(natsProblems('x', natsConfMappings(clusterConf.replace('partition(16,1)', 'partition(8,1)')), 4e6, rt)).not.toEqual([]);
    expect(natsProblems('x', natsConfMappings(clusterConf), natsConfMaxPayload(clusterConf.replace('2MB', '1MB')), rt)).not.toEqual([]);
    expect(natsProblems('x', natsConfMappings(clusterConf), 4e6, { ...rt, partitions: 32 })).not.toEqual([]);
    expect(natsConfMappings(clusterConf.replace(/^mappings/m, '# mappings'))).toEqual({});
  });

  it('compose', () => {
    const bad = (edit: (c: Json) => void) => {
      const c = clone(compose);
      edit(c);
      return composeProblems(c, baseEnv, clusterConf);
    };
    expect(bad((c) => (c.services.history.environment.HEALTH_PORT = '9000'))).not.toEqual([]);
    expect(bad((c) => delete c.services.presence.environment.HEALTH_PORT)).not.toEqual([]);
    expect(bad((c) => (c.services.history.environment.HEALT_PORT = '8081'))).not.toEqual([]);
    expect(bad((c) => (c.services.history.environment.SERVICE = 'histories'))).not.toEqual([]);
    expect(bad((c) => (c.services.presence.environment.RT_PARTITIONS = '8'))).not.toEqual([]);
    expect(bad((c) => (c.services['fan-out-worker'].environment.NATS_URL = 'nats://nats-1:4222'))).not.toEqual([]);
    expect(bad((c) => (c.services['edge-gateway'].healthcheck.test[3] = "fetch('http://127.0.0.1:8080/status')"))).not.toEqual([]);
    expect(bad((c) => (c.services['edge-gateway'].ports = ['9090:9090']))).not.toEqual([]);
    expect(bad((c) => (c.services['nats-2'].environment.NATS_SERVER_NAME = 'nats-1'))).not.toEqual([]);
  });

  it('k8s', () => {
    expect(broken((o) => (container(o, 'history').readinessProbe.httpGet.port = 8080))).not.toEqual([]);
    expect(broken((o) => (container(o, 'history').livenessProbe.httpGet.path = '/live'))).not.toEqual([]);
    expect(broken((o) => (container(o, 'edge-gateway').readinessProbe.httpGet.path = '/healthz'))).not.toEqual([]);
    expect(broken((o) => (container(o, 'presence').env = container(o, 'presence').env.filter((e: Json) => e.name !== 'HEALTH_PORT')))).not.toEqual([]);
    expect(broken((o) => container(o, 'presence').env.push({ name: 'EDGE_PROT', value: '1' }))).not.toEqual([]);
    expect(broken((o) => container(o, 'presence').env.push({ name: 'RT_PARTITIONS', value: '16' }))).not.toEqual([]);
    expect(broken((o) => (container(o, 'history').env[0].value = 'hist'))).not.toEqual([]);
    expect(broken((o) => (deployment(o, 'history').spec.selector.matchLabels['app.kubernetes.io/name'] = 'x'))).not.toEqual([]);
    expect(broken((o) => (deployment(o, 'fan-out-worker').spec.replicas = 1))).not.toEqual([]);
    expect(broken((o) => (container(o, 'edge-gateway').env[1].value = '127.0.0.1'))).not.toEqual([]);
    expect(broken((o) => (container(o, 'edge-gateway').volumeMounts = []))).not.toEqual([]);
    expect(broken((o) => delete deployment(o, 'edge-gateway').spec.template.spec.securityContext.runAsUser)).not.toEqual([]);
    expect(broken((o) => (o.find((x: Json) => x.kind === 'ConfigMap').data.RT_STREAM_REPLICAS = 3))).not.toEqual([]);
    expect(broken((o) => (o.find((x: Json) => x.kind === 'Service').spec.ports[0].targetPort = 'web'))).not.toEqual([]);
    expect(broken((o) => (o.find((x: Json) => x.kind === 'PodDisruptionBudget').spec.selector.matchLabels = { app: 'x' }))).not.toEqual([]);
  });
});
