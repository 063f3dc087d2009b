/**
 * A real OpenID provider for the tests (the `oidc-provider` package, development interactions on), on
 * a free port, and a browser stand-in that walks its login and consent forms with a cookie jar.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

export interface TestAccount {
  email: string;
  email_verified: boolean;
  name?: string;
}

export interface TestProvider {
  issuer: string;
  accounts: Map<string, TestAccount>;
  stop(): Promise<void>;
}

export const TEST_CLIENT = { clientId: 'course-platform', clientSecret: 'test-oidc-client-secret-0123456789' };

/** Starts a provider whose one client may return to `redirectUris`. */
export async function startProvider(redirectUris: string[], accounts: Record<string, TestAccount> = {}): Promise<TestProvider> {
  const ref: { handler?: (req: IncomingMessage, res: ServerResponse) => void } = {};
  const server: Server = createServer((req, res) => ref.handler!(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const store = new Map(Object.entries(accounts));
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: TEST_CLIENT.clientId,
        client_secret: TEST_CLIENT.clientSecret,
        redirect_uris: redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    findAccount: async (_ctx: unknown, id: string) => {
      const account = store.get(id);
      return account ? { accountId: id, claims: async () => ({ sub: id, ...account }) } : undefined;
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
    cookies: { keys: ['test-provider-cookie-key-0123456789'] },
  });
  // The provider logs its development-only warnings through this; the tests do not need them.
  provider.on('server_error', () => undefined);
  ref.handler = provider.callback();
  return {
    issuer,
    accounts: store,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A cookie jar that keeps name=value per host (paths ignored: enough for one provider). */
export class CookieJar {
  private readonly cookies = new Map<string, Map<string, string>>();

  take(url: string, setCookies: string[]): void {
    const host = new URL(url).host;
    const jar = this.cookies.get(host) ?? new Map<string, string>();
    for (const line of setCookies) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      if (eq <= 0) continue;
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(line) || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    this.cookies.set(host, jar);
  }

  header(url: string): string {
    const jar = this.cookies.get(new URL(url).host);
    return jar ? [...jar].map(([k, v]) => `${k}=${v}`).join('; ') : '';
  }
}

/**
 * Follows the provider from `url` as a browser would: redirects, the login form (as `login`), the
 * consent form, until a redirect leaves the provider; answers that URL (our callback).
 */
export async function walkProvider(url: string, login: string, jar = new CookieJar()): Promise<string> {
  let next: { url: string; method: 'GET' | 'POST'; body?: URLSearchParams } = { url, method: 'GET' };
  const origin = new URL(url).origin;
  for (let step = 0; step < 20; step++) {
    const res = await fetch(next.url, {
      method: next.method,
      redirect: 'manual',
      headers: { cookie: jar.header(next.url), ...(next.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      body: next.body,
    });
    jar.take(next.url, res.headers.getSetCookie());
    if (res.status >= 300 && res.status < 400) {
      const location = new URL(res.headers.get('location')!, next.url).toString();
      if (new URL(location).origin !== origin) return location;
      next = { url: location, method: 'GET' };
      continue;
    }
    const html = await res.text();
    if (res.status !== 200) throw new Error(`provider answered ${res.status}: ${html.slice(0, 500)}`);
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="([a-z]+)"/.exec(html)?.[1];
    if (!action || !prompt) throw new Error(`no form on the provider's page: ${html.slice(0, 500)}`);
    const body = new URLSearchParams({ prompt });
    if (prompt === 'login') {
      body.set('login', login);
      body.set('password', 'any');
    }
    next = { url: new URL(action.replaceAll('&amp;', '&'), next.url).toString(), method: 'POST', body };
  }
  throw new Error('too many steps at the provider');
}
