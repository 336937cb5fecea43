// `npm test`, step one: install what the tests need on a fresh machine (node modules, and
// the nats-server binary the integration tests start), the same way `npm start` does.
import { checkNode, ensureChromium, ensureNatsServer, installDependencies } from './bootstrap.mjs';

checkNode();
installDependencies();
// The integration tests start their own nats-server processes, whatever NATS_URL says.
ensureNatsServer();
// The demo's browser tests run Debian's Chromium (never a downloaded one).
ensureChromium();
