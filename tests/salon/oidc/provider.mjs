// A real OpenID provider for the salon tests (one process per municipality), test only.
// Env: ISSUER (what it calls itself), PORT, CLIENT_SECRET (empty: a public PKCE client).
// Accounts are fixed below; which one signs in is the authorization request's login_hint
// (no login form: there is no user here to type a password). Consent is given automatically.
import http from 'node:http';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import Provider from 'oidc-provider';

const { ISSUER, PORT, CLIENT_SECRET = '' } = process.env;
const ACCOUNTS = JSON.parse(process.env.ACCOUNTS || '{}'); // sub -> claims
const client = (id, secret) => ({
  client_id: id,
  application_type: 'native', // loopback redirect URIs match on any port (RFC 8252 7.3)
  redirect_uris: ['http://127.0.0.1/auth/oidc/callback'],
  grant_types: ['authorization_code'], response_types: ['code'],
  ...(secret ? { client_secret: secret, token_endpoint_auth_method: 'client_secret_basic' }
    : { token_endpoint_auth_method: 'none' }),
});
// Its own signing key per process: oidc-provider's built-in development key is the same
// everywhere, and then a token from B would verify with A's keys.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const provider = new Provider(ISSUER, {
  jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' }] },
  clients: [client('yakuba', CLIENT_SECRET), client('other-app', '')],
  pkce: { required: () => true },
  conformIdTokenClaims: false, // name, e-mail and department in the ID token itself, as most IdPs do
  features: { devInteractions: { enabled: false } },
  claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'], department: ['department'] },
  scopes: ['openid', 'profile', 'email', 'department'],
  findAccount: (ctx, sub) => (ACCOUNTS[sub]
    ? { accountId: sub, claims: () => ({ sub, ...ACCOUNTS[sub] }) } : undefined),
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ['test-only-cookie-key'] },
});
provider.proxy = false;

const callback = provider.callback();
http.createServer(async (req, res) => {
  if (!req.url.startsWith('/interaction/')) return callback(req, res);
  try {
    const details = await provider.interactionDetails(req, res);
    const accountId = details.session?.accountId || details.params.login_hint;
    let result;
    if (details.prompt.name === 'login') {
      if (!ACCOUNTS[accountId]) result = { error: 'access_denied', error_description: 'unknown login_hint' };
      else result = { login: { accountId } };
    } else { // consent: grant what was asked
      const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
      grant.addOIDCScope(details.params.scope);
      result = { consent: { grantId: await grant.save() } };
    }
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  } catch (e) {
    res.statusCode = 500; res.end(String(e));
  }
}).listen(Number(PORT), '127.0.0.1', () => console.log(`ready ${ISSUER}`));
