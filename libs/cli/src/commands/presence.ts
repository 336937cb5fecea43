// `cascade presence`: asks the presence service over NATS who is online (users) or who is in
// a channel (--channel), with the request-reply API of docs/presence.md.
import { connect } from '@nats-io/transport-node';
import { Contract, PresenceLimits, PresenceSubjects, type MembersAnswer, type QueryError, type StatusAnswer } from '@cascade/nats';
import { channelArg, durationOption, Failure, parse, str, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { ago, table, toJson } from '../format.js';

const PREFIX_RE = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;

export const presenceCommand: Command = {
  name: 'presence',
  help: `Usage: cascade presence <user...> [options]
       cascade presence --channel <channel> [options]

Asks the presence service over NATS (request-reply rt.svc.presence.status / .members).
Users: online or not, connections per edge, last seen. Channel: its members and their
connections. With --json, the service's answer as one object.

Options:
  --channel <ch>     list the members of a channel instead of users' status
  --nats <url>       NATS server (env NATS_URL, default nats://127.0.0.1:4222)
  --prefix <p>       subject prefix, RT_PREFIX of the services (env RT_PREFIX, default rt)
  --timeout <d>      give up after <d> without an answer (default 5s)
  --json             print the answer as JSON

Examples:
  npx cascade presence alice bob
  npx cascade presence --channel chat:room1 --json`,
  async run(argv, ctx) {
    const { values, positionals } = parse('presence', argv, { channel: { type: 'string' }, nats: { type: 'string' }, prefix: { type: 'string' }, timeout: { type: 'string' } }, { min: 0, max: PresenceLimits.maxUsersPerStatusQuery });
    const out = ctx.output(values['json'] === true);
    const chRaw = str(values, 'channel');
    if (chRaw === undefined && positionals.length === 0) throw new UsageError('name at least one user, or --channel <channel>', 'presence');
    if (chRaw !== undefined && positionals.length > 0) throw new UsageError('give users or --channel, not both', 'presence');
    const channel = chRaw === undefined ? undefined : channelArg(chRaw);
    for (const u of positionals) if (u.length === 0 || u.length > PresenceLimits.maxUserLength) throw new UsageError(`user "${u}" must be 1-${PresenceLimits.maxUserLength} characters`);
    const prefix = str(values, 'prefix') ?? ctx.env['RT_PREFIX'] ?? 'rt';
    if (!PREFIX_RE.test(prefix)) throw new UsageError(`--prefix must be a letter then up to 31 letters, digits, _ or -, got "${prefix}"`);
    const servers = (str(values, 'nats') ?? ctx.env['NATS_URL'] ?? 'nats://127.0.0.1:4222').split(',').map((s) => s.trim());
    for (const s of servers) if (!/^(nats|tls):\/\/[^\s/]+\/?$|^[^\s/:]+:\d+$/.test(s)) throw new UsageError(`--nats must be like nats://127.0.0.1:4222, got "${s}"`);
    const timeoutMs = durationOption(values, 'timeout', 100, 600_000) ?? 5000;
    const subjects = new PresenceSubjects(new Contract({ prefix, partitions: 1 }));

    let nc;
    try {
      nc = await connect({ servers, name: 'cascade-cli', timeout: timeoutMs, reconnect: false });
    } catch (err) {
      throw new Failure(`cannot connect to NATS at ${servers.join(', ')}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    let answer: unknown;
    const subject = channel === undefined ? subjects.status : subjects.members;
    try {
      const reply = await nc.request(subject, JSON.stringify(channel === undefined ? { users: positionals } : { ch: channel }), { timeout: timeoutMs });
      answer = reply.json();
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      // nats.js says "503" / "no responders" when nobody listens on the subject.
      const why = /503|no responders/i.test(text) ? 'no presence service answers (is it running, with this --prefix?)' : text;
      throw new Failure(`presence query on ${subject} failed: ${why}`, { cause: err });
    } finally {
      await nc.close();
    }
    if (typeof (answer as QueryError).error === 'string') throw new Failure(`the presence service refused the query: ${(answer as QueryError).error}`);
    if (out.json) {
      out.value(toJson(answer));
      return 0;
    }
    const s = out.style;
    if (channel === undefined) {
      const a = answer as StatusAnswer;
      const now = Date.now();
      const rows = positionals.map((u) => {
        const st = a.users[u];
        if (!st) return [u, s.dim('unknown')];
        const edges = Object.entries(st.edges).map(([e, n]) => `${e}: ${n}`).join(', ');
        return [
          u,
          st.online ? s.green('online') : s.dim('offline'),
          `${st.connections} connection${st.connections === 1 ? '' : 's'}${edges ? ` (${edges})` : ''}`,
          st.lastSeen === null ? s.dim('never seen') : `last seen ${ago(st.lastSeen, now)}`,
        ];
      });
      for (const line of table(rows)) out.line(line);
    } else {
      const a = answer as MembersAnswer;
      out.line(`${s.cyan(a.ch)}: ${a.count} member${a.count === 1 ? '' : 's'}`);
      if (a.members === undefined && a.count > 0) out.line(s.dim('  (too many members to list)'));
      for (const line of table((a.members ?? []).map((m) => [`  ${m.user}`, s.dim(m.clients.join(', '))]))) out.line(line);
    }
    if ((answer as { partial?: boolean }).partial) out.note(s.yellow('partial: the presence service is still rebuilding its state after a start'));
    return 0;
  },
};
