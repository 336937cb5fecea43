// presence: who is online where. For now it starts, ensures the contract (its KV bucket)
// and answers `<prefix>.svc.presence.health`; the registry and channel presence follow.
import { runService } from '@cascade/service';

process.exit(
  await runService({
    name: 'presence',
    displayName: 'presence',
    config: {},
    async start({ contract }) {
      return {
        stop: async () => undefined,
        health: () => ({ bucket: contract.buckets.presence }),
      };
    },
  }),
);
