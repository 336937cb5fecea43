// `cascade token`: mints a development JWT for a user, with channel rights and a lifetime.
import { durationOption, listOption, parse, str, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { toJson } from '../format.js';
import { checkSecret, checkUser, claimsOf, DEV_SECRET, mintToken } from '../token.js';

export const tokenCommand: Command = {
  name: 'token',
  help: `Usage: cascade token --user <id> [options]

Mints an HS256 JWT the edge accepts: sub = <id>, subs/pubs = channel patterns, exp.
Prints the token (with --json: {"token", "claims"}).

Options:
  --user <id>         the user (token claim sub); required
  --subs <patterns>   channels it may subscribe to, comma-separated ('chat:*,news')
  --pubs <patterns>   channels it may publish to, comma-separated
  --ttl <duration>    lifetime: 30s, 15m, 1h, 7d (default 1h)
  --secret <s>        HS256 secret (env CASCADE_JWT_SECRET; default: the edge's built-in
                      development secret, refused by production edges)
  --json              print {"token", "claims"}

Example:
  export CASCADE_TOKEN=$(npx cascade token --user alice --subs 'chat:*' --pubs 'chat:*')`,
  async run(argv, ctx) {
    const { values } = parse('token', argv, { user: { type: 'string' }, subs: { type: 'string' }, pubs: { type: 'string' }, ttl: { type: 'string' }, secret: { type: 'string' } }, { min: 0, max: 0 });
    const out = ctx.output(values['json'] === true);
    const user = str(values, 'user');
    if (user === undefined) throw new UsageError('--user is required', 'token');
    const request = {
      user: checkUser(user),
      subs: listOption(values, 'subs'),
      pubs: listOption(values, 'pubs'),
      ttlMs: durationOption(values, 'ttl', 1000, 366 * 86_400_000) ?? 3_600_000,
      secret: checkSecret(str(values, 'secret') ?? ctx.env['CASCADE_JWT_SECRET'] ?? DEV_SECRET),
    };
    const token = await mintToken(request);
    if (out.json) out.value(toJson({ token, claims: claimsOf(token) }));
    else {
      out.line(token);
      const exp = claimsOf(token).exp;
      out.note(out.style.dim(`user ${request.user}, expires ${exp === undefined ? 'never' : new Date(exp * 1000).toISOString()}${request.secret === DEV_SECRET ? ', development secret' : ''}`));
    }
    return 0;
  },
};
