// history: reads the past for catch-up and paginated history. For now it starts, ensures
// the contract (the history stream) and answers `<prefix>.svc.history.health`; its read
// API follows with ordered delivery and resume.
import { runService } from '@cascade/service';

process.exit(
  await runService({
    name: 'history',
    displayName: 'history',
    config: {},
    async start({ contract }) {
      return {
        stop: async () => undefined,
        health: () => ({ stream: contract.historyStream }),
      };
    },
  }),
);
