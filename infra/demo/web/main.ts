// The demo page: one CascadeClient (WebSocket, or SSE with `?transport=sse`) for a chat room
// and the live ticker, a connection banner, and the window.cascadeDemo test hook.
// Same origin as the edge that serves it: WebSocket, SSE, HTTP publish and dev tokens.
import './instrument.js';
import { CascadeClient, type DisconnectInfo, type Message } from '@cascade/client';
import { ChatView } from './chat-view.js';
import { byId } from './dom.js';
import { installHook, type DemoHook } from './hook.js';
import { eventSourcesCreated, eventSourceUrls } from './instrument.js';
import { Members, Typing } from './members.js';
import { parseParams, TICKER_CHANNEL, validName, type DemoParams } from './params.js';
import { ConnectionStatus } from './status.js';
import { TickerView } from './ticker-view.js';

/** Typing frames go out at most this often while the user types. */
const TYPING_EVERY_MS = 1_500;
const TICK_MS = 250;

const params = parseParams(location.search, location.hash);
window.addEventListener('hashchange', () => location.reload());

function edgeUrl(p: DemoParams): string {
  if (p.transport === 'sse') return `${location.origin}/`;
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`;
}

/** A development token from the edge (EDGE_DEV_TOKENS=on); undefined when the edge has none. */
async function devToken(user: string): Promise<string> {
  const res = await fetch(`/v1/dev/token?user=${encodeURIComponent(user)}`, { cache: 'no-store' });
  if (!res.ok) throw new Error(`GET /v1/dev/token answered ${res.status}`);
  const body = (await res.json()) as { token?: unknown };
  if (typeof body.token !== 'string') throw new Error('GET /v1/dev/token: no token in the answer');
  return body.token;
}

async function devTokensOn(user: string): Promise<boolean> {
  try {
    await devToken(user);
    return true;
  } catch {
    return false;
  }
}

function describeDisconnect(d: DisconnectInfo): string {
  if (d.code === 1006) return 'connection lost';
  // The token comes from the edge itself: no token means the edge cannot be reached either.
  if (d.code === 4000 && d.reason === 'no token') return 'connection lost, no token from the edge';
  if (d.code === 1001) return 'the edge is shutting down';
  if (d.code === 1000) return d.reason || 'closed';
  return `code ${d.code}${d.reason ? `: ${d.reason}` : ''}`;
}

function header(p: DemoParams, user: string): void {
  byId('me').textContent = `signed in as ${user}`;
  const other = new URL(location.href);
  if (p.transport === 'sse') other.searchParams.delete('transport');
  else other.searchParams.set('transport', 'sse');
  const link = byId<HTMLAnchorElement>('transport-switch');
  link.href = other.toString();
  link.textContent = p.transport === 'sse' ? 'switch to WebSocket' : 'switch to SSE';
}

function tabs(initial: DemoParams['view']): void {
  const show = (view: DemoParams['view']) => {
    for (const v of ['chat', 'ticker'] as const) {
      byId(`view-${v}`).hidden = v !== view;
      byId(`tab-${v}`).setAttribute('aria-selected', String(v === view));
    }
    const u = new URL(location.href);
    if (view === 'chat') u.searchParams.delete('view');
    else u.searchParams.set('view', view);
    history.replaceState(null, '', u);
  };
  for (const v of ['chat', 'ticker'] as const) byId(`tab-${v}`).addEventListener('click', () => show(v));
  show(initial);
}

function askName(): Promise<string> {
  const form = byId<HTMLFormElement>('join');
  const input = byId<HTMLInputElement>('join-name');
  input.value = `guest-${Math.floor(Math.random() * 9000 + 1000)}`;
  form.hidden = false;
  byId('status').textContent = 'Pick a name to join.';
  input.select();
  return new Promise((resolve) => {
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const name = input.value.trim();
      if (!validName(name)) return;
      form.hidden = true;
      const u = new URL(location.href);
      u.searchParams.set('user', name);
      history.replaceState(null, '', u);
      resolve(name);
    });
  });
}

async function run(): Promise<void> {
  const user = params.user ?? (await askName());
  const url = edgeUrl(params);
  const status = new ConnectionStatus(params.transport, url);
  const hook: DemoHook = installHook({
    user,
    room: params.room,
    transport: params.transport,
    url,
    state: 'idle',
    status: status.view(Date.now()),
    received: { [params.roomChannel]: [], [TICKER_CHANNEL]: [] },
    epochs: {},
    chat: [],
    members: [user],
    typing: [],
    recovered: 0,
    recoveryImpossible: [],
    connects: 0,
    disconnects: 0,
    eventSources: 0,
    eventSourceUrls: [],
    errors: [],
  });
  const banner = byId('status');
  const renderStatus = () => {
    const v = status.view(Date.now());
    hook.status = v;
    hook.recovered = status.recoveredTotal;
    hook.eventSources = eventSourcesCreated();
    hook.eventSourceUrls = eventSourceUrls();
    banner.className = `status ${v.kind}`;
    banner.dataset.kind = v.kind;
    if (banner.textContent !== v.text) banner.textContent = v.text;
  };
  const noteError = (e: unknown) => {
    hook.errors.push(e instanceof Error ? e.message : String(e));
    if (hook.errors.length > 50) hook.errors.shift();
  };

  header(params, user);
  byId('app').hidden = false;
  tabs(params.view);

  const withToken = await devTokensOn(user);
  byId('footer-info').textContent = withToken
    ? `Edge ${url} · ${params.transport === 'sse' ? 'Server-Sent Events + HTTP publish' : 'WebSocket'} · development token for "${user}" from /v1/dev/token`
    : `Edge ${url} · this edge hands out no development tokens (EDGE_DEV_TOKENS=on): connected anonymously, names are the edge's`;

  const client = new CascadeClient({
    url,
    ...(withToken ? { token: () => devToken(user) } : {}),
    // A demo should come back quickly once the edge is back.
    backoff: { initialMs: 500, maxMs: 5_000 },
    ...(params.transport === 'sse' ? { transport: 'sse' as const } : {}),
  });
  client.on('state', (s) => {
    hook.state = s;
    if (s === 'connecting') status.connecting();
    if (s === 'closed') status.closed();
    if (s === 'failed') status.failed(client.error?.message ?? 'refused');
    renderStatus();
  });
  client.on('connected', () => {
    hook.connects++;
    status.connected(Date.now());
    renderStatus();
  });
  client.on('disconnected', (d) => {
    hook.disconnects++;
    status.disconnected(Date.now(), describeDisconnect(d), d.reconnect ? d.delayMs : undefined);
    renderStatus();
  });
  client.on('error', noteError);

  const delivered = (m: Message): boolean => {
    (hook.received[m.channel] ??= []).push(m.seq);
    hook.epochs[m.channel] = m.ep;
    const recovered = status.delivered(m.channel, m.ts);
    // The banner counts them: keep it (and the hook) current with each one.
    if (recovered) renderStatus();
    return recovered;
  };

  // ---- chat ----
  const members = new Members(user);
  const typing = new Typing();
  let lastTypingSent = 0;
  const room = params.roomChannel;
  const chat = new ChatView(user, params.room, {
    send: async (text) => {
      await client.publish(room, { text });
    },
    typing: () => {
      const now = Date.now();
      if (now - lastTypingSent < TYPING_EVERY_MS) return;
      if (client.ephemeral(room, { typing: true })) lastTypingSent = now;
    },
  });
  const showMembers = () => {
    hook.members = members.list();
    chat.setMembers(hook.members);
  };
  const showTyping = () => {
    const now = Date.now();
    const list = typing.list(now);
    if (list.join() === hook.typing.join()) return;
    hook.typing = list;
    chat.setTyping(list);
  };
  showMembers();
  const roomSub = client.subscribe(room, {
    onMessage(m) {
      const recovered = delivered(m);
      const text = typeof (m.data as { text?: unknown } | null)?.text === 'string' ? (m.data as { text: string }).text.slice(0, 500) : JSON.stringify(m.data);
      hook.chat.push({ seq: m.seq, from: m.from, text });
      chat.message({ seq: m.seq, ts: m.ts, from: m.from, text, recovered });
      if (m.from !== undefined) {
        typing.stopped(m.from);
        showTyping();
      }
      renderStatus();
    },
    onEphemeral(m) {
      const from = m.from;
      if (from === undefined || from === user) return;
      const d = m.data as { typing?: unknown } | null;
      if (typeof d !== 'object' || d === null) return;
      if (d.typing === true) {
        typing.typed(from, Date.now());
        showTyping();
      }
    },
    onJoin(joined) {
      members.seen(joined.map((j) => j.user));
      showMembers();
    },
    onLeave(left) {
      members.left(left.map((l) => l.user));
      showMembers();
    },
    onSubscribed(info) {
      // Who is here now (presence frames only tell changes); after a reconnect, too, since
      // people may have come and gone meanwhile.
      members.asked();
      roomSub.presence().then(
        (present) => {
          members.answered(present.map((p) => p.user));
          showMembers();
        },
        (e: unknown) => {
          members.unanswered();
          console.warn('who is in the room could not be read; showing joins and leaves only', e);
        },
      );
      if (info.first) chat.notice(`You joined ${room}. Messages from now on appear here.`);
      else chat.notice(info.resumed ? 'Reconnected: resumed where you left off.' : 'Reconnected.');
    },
    onRecoveryImpossible(info) {
      const missing = info.missing ? { from: info.missing.from, to: info.missing.to } : undefined;
      status.historyLost({ channel: info.channel, reason: info.reason, ...(missing ? { missing } : {}) });
      hook.recoveryImpossible.push({ channel: info.channel, reason: info.reason });
      chat.notice(`History lost (${info.reason}): some messages of ${info.channel} cannot be recovered.`, 'notice lost');
      renderStatus();
    },
    onError: noteError,
  });

  // ---- ticker ----
  const ticker = new TickerView();
  client.subscribe(TICKER_CHANNEL, {
    onMessage(m) {
      const now = Date.now();
      const recovered = delivered(m);
      const d = m.data as { n?: unknown; sent?: unknown } | null;
      const n = typeof d?.n === 'number' ? d.n : undefined;
      const sent = typeof d?.sent === 'number' ? d.sent : undefined;
      ticker.tick({ seq: m.seq, n, sent, now, recovered });
    },
    onRecoveryImpossible(info) {
      status.historyLost({ channel: info.channel, reason: info.reason });
      hook.recoveryImpossible.push({ channel: info.channel, reason: info.reason });
      renderStatus();
    },
    onError: noteError,
  });

  setInterval(() => {
    const now = Date.now();
    ticker.render(now);
    showTyping();
    renderStatus();
  }, TICK_MS);
  window.addEventListener('pagehide', () => void client.close());
  chat.focus();
  await client.connect();
}

run().catch((e: unknown) => {
  const banner = byId('status');
  banner.className = 'status failed';
  banner.textContent = `The demo could not start: ${e instanceof Error ? e.message : String(e)}`;
  console.error(e);
});
