// Dispatch: picks the command, prints help, and turns errors into exit codes (2 for usage
// mistakes, 1 for failures), each with one clear line on stderr.
import { Failure, UsageError } from './args.js';
import type { Command, Context } from './command.js';

export interface CommandEntry {
  name: string;
  aliases?: string[];
  /** One line for `cascade --help`. */
  summary: string;
  /** Loaded on use: each command pulls in only its own dependencies (NATS, WebSocket, jose), so starting is quick. */
  load(): Promise<Command>;
}

export const COMMANDS: CommandEntry[] = [
  { name: 'token', summary: 'mint a development token (HS256 JWT) for a user', load: async () => (await import('./commands/token.js')).tokenCommand },
  { name: 'publish', aliases: ['pub'], summary: 'publish a JSON message to a channel (durable: waits until stored)', load: async () => (await import('./commands/publish.js')).publishCommand },
  { name: 'tail', aliases: ['subscribe', 'sub'], summary: 'subscribe to channels and print their messages as they arrive', load: async () => (await import('./commands/tail.js')).tailCommand },
  { name: 'history', summary: "read a channel's stored messages (edge HTTP API)", load: async () => (await import('./commands/history.js')).historyCommand },
  { name: 'presence', summary: 'who is online (users) or in a channel (--channel), from the presence service', load: async () => (await import('./commands/presence.js')).presenceCommand },
  { name: 'stats', summary: "an edge node's health and counters (/healthz and /metrics)", load: async () => (await import('./commands/stats.js')).statsCommand },
];

export function findCommand(name: string): CommandEntry | undefined {
  return COMMANDS.find((c) => c.name === name || c.aliases?.includes(name));
}

export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Usage: cascade <command> [options]      (npx cascade ... from the workspace)

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Every command takes --json (output for scripts: JSON, no progress, no colour) and
--help. Exit codes: 0 done, 1 failed (unreachable, refused, timed out), 2 usage error.
Run cascade <command> --help for its options; docs/cli.md has the details.`;
}

export async function run(argv: string[], ctx: Context): Promise<number> {
  const [name, ...rest] = argv;
  const err = (text: string) => ctx.stderr.write(`${text}\n`);
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' && rest[0] !== undefined ? findCommand(rest[0]) : undefined;
    ctx.stdout.write(`${topic ? (await topic.load()).help : mainHelp()}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    ctx.stdout.write('0.1.0\n');
    return 0;
  }
  const entry = findCommand(name);
  if (!entry) {
    err(`cascade: unknown command "${name}"\n\n${mainHelp()}`);
    return 2;
  }
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    ctx.stdout.write(`${command.help}\n`);
    return 0;
  }
  try {
    return await command.run(rest, ctx);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`cascade ${command.name}: ${e.message}\nRun cascade ${command.name} --help for usage.`);
      return 2;
    }
    if (e instanceof Failure) {
      err(`cascade ${command.name}: ${e.message}`);
      return 1;
    }
    // Anything else is a bug or an unexpected state: keep the stack for the report.
    err(`cascade ${command.name}: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return 1;
  }
}
