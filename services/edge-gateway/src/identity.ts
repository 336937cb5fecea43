// Who a connection is. Token verification (JWT) is not in place yet, so every connection
// is an anonymous user named after its connection id; the token, if sent, is not trusted
// for anything.
import type { Authenticate } from './session.js';

export const anonymous: Authenticate = async (_token, clientId) => ({ ok: true, identity: { user: `anon-${clientId}` } });
