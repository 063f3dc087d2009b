/**
 * Sign in with an OpenID Connect provider: auth-service as a relying party (authorization code flow
 * with PKCE S256, `state` and `nonce`), through openid-client, which checks the ID token (signature,
 * issuer, audience, expiry, nonce). The account rules (issue 19) live here; the session is opened by
 * AuthService.signIn, the one gate after a first factor (so the MFA gate applies).
 *
 * What crosses the browser: the provider's URL (with state, nonce, the PKCE challenge), then our
 * callback, which answers a 302 to the front end with a one-time `code` or an `error`; never a token.
 * The started flows and the codes live in the shared store (Redis in real mode), single use (GETDEL).
 */
import { createHash, randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import type { Database } from '../../shared/utils/database.js';
import { HttpError } from '../../shared/utils/errors.js';
import { newId } from '../../shared/utils/ids.js';
import type { Principal } from '../../shared/utils/jwt.js';
import type { Logger } from '../../shared/utils/logging.js';
import type { KeyValueStore } from '../../shared/utils/redis.js';
import { toIdentity, type Identity } from '../models/identity.js';
import { normaliseEmail, type UserRow } from '../models/user.js';
import type { IdentityRepository } from '../repository/identity_repository.js';
import type { SecurityEventRepository } from '../repository/security_event_repository.js';
import type { SessionRepository } from '../repository/session_repository.js';
import type { UserRepository } from '../repository/user_repository.js';
import type { AuthService, RequestMeta } from './auth_service.js';
import type { RateLimiter, Window } from './rate_limiter.js';

export interface OidcProviderSettings {
  id: string;
  name: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
  scope?: string;
}

export interface OidcSettings {
  providers: OidcProviderSettings[];
  allowInsecure: boolean;
  /** Exact origins (scheme://host[:port]) a flow may return to. */
  redirectOrigins: string[];
  stateTtlSec: number;
  codeTtlSec: number;
  timeoutSec: number;
  /** auth-service as browsers see it: the redirect URI is <publicUrl>/api/v1/auth/oidc/<id>/callback. */
  publicUrl: string;
  startsPerIp: Window;
}

export interface OidcServiceDeps {
  db: Database;
  users: UserRepository;
  identities: IdentityRepository;
  securityEvents: SecurityEventRepository;
  sessions: SessionRepository;
  auth: AuthService;
  store: KeyValueStore;
  limiter: RateLimiter;
  settings: OidcSettings;
  logger: Logger;
}

/**
 * The `error` values the callback hands to the front end (README, "Sign in with an OpenID Connect
 * provider"). A contract, like problem codes: add, never rename.
 */
export const OIDC_REDIRECT_ERRORS = [
  'access_denied',
  'invalid_state',
  'invalid_response',
  'provider_error',
  'provider_unavailable',
  'account_link_required',
  'email_not_verified',
  'account_disabled',
  'identity_in_use',
  'server_error',
] as const;
export type OidcRedirectError = (typeof OIDC_REDIRECT_ERRORS)[number];

/** A started flow, stored under the hash of its `state` until the callback takes it (once). */
interface FlowRecord {
  provider: string;
  nonce: string;
  verifier: string;
  redirectTo: string;
  intent: 'login' | 'link';
  /** login: hash of the browser cookie set by start (the flow finishes only in the browser that began it). */
  browser?: string;
  /** link: the signed-in user and session that asked. */
  userId?: string;
  sessionId?: string;
}

/** What a one-time code stands for (stored under its hash). */
interface CodeRecord {
  userId: string;
  provider: string;
}

export interface CallbackInput {
  provider: string;
  /** The callback's raw query string (openid-client reads every parameter). */
  query: string;
  state: string | undefined;
  browserCookie: string | undefined;
}

/** The callback's outcome: always a redirect to the flow's front-end page. */
export interface CallbackResult {
  location: string;
}

/** The cookie that binds a login flow to the browser that started it (RFC 6749 section 10.12). */
export const BROWSER_COOKIE = 'oidc_browser';
export const COOKIE_PATH = '/api/v1/auth/oidc';

const DISCOVERY_TTL_MS = 3_600_000;

const sha256 = (text: string) => createHash('sha256').update(text).digest('base64url');

class RedirectError extends Error {
  constructor(
    readonly error: OidcRedirectError,
    cause?: unknown,
  ) {
    super(error, { cause });
  }
}

/** True for failures to reach the provider at all (network, timeout, its 5xx), as opposed to its refusals. */
function isUnreachable(err: unknown): boolean {
  if (err instanceof oidc.ResponseBodyError) return err.status >= 500;
  if (err instanceof oidc.ClientError) {
    // A non-JSON or unexpected answer (an HTML 502 page from a proxy) is the provider being down too.
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Response ? cause.status >= 500 : /status code|fetch failed|timeout/i.test(err.message);
  }
  if (err instanceof TypeError) return true; // fetch failed (refused, reset, DNS)
  return err instanceof DOMException && (err.name === 'TimeoutError' || err.name === 'AbortError');
}

export class OidcService {
  private readonly discovered = new Map<string, { config: oidc.Configuration; at: number }>();
  private readonly discovering = new Map<string, Promise<oidc.Configuration>>();

  constructor(private readonly d: OidcServiceDeps) {}

  /** The configured providers, for sign-in buttons. */
  providers(): { id: string; name: string; startUrl: string }[] {
    return this.d.settings.providers.map((p) => ({ id: p.id, name: p.name, startUrl: `${this.base()}/${p.id}/start` }));
  }

  private base(): string {
    return `${this.d.settings.publicUrl.replace(/\/$/, '')}/api/v1/auth/oidc`;
  }

  redirectUri(providerId: string): string {
    return `${this.base()}/${providerId}/callback`;
  }

  private provider(id: string): OidcProviderSettings {
    const provider = this.d.settings.providers.find((p) => p.id === id);
    if (!provider) throw HttpError.notFound('oidc_provider_not_found', `No identity provider "${id}" is configured`);
    return provider;
  }

  /**
   * The provider's metadata (discovery), cached for an hour. Concurrent callers share one request; a
   * failure is not cached, so the next sign-in tries again.
   */
  private async configuration(provider: OidcProviderSettings): Promise<oidc.Configuration> {
    const cached = this.discovered.get(provider.id);
    if (cached && Date.now() - cached.at < DISCOVERY_TTL_MS) return cached.config;
    let pending = this.discovering.get(provider.id);
    if (!pending) {
      pending = oidc
        .discovery(new URL(provider.issuer), provider.clientId, undefined, oidc.ClientSecretBasic(provider.clientSecret), {
          execute: this.d.settings.allowInsecure && provider.issuer.startsWith('http:') ? [oidc.allowInsecureRequests] : [],
          timeout: this.d.settings.timeoutSec,
        })
        .then((config) => {
          config.timeout = this.d.settings.timeoutSec;
          this.discovered.set(provider.id, { config, at: Date.now() });
          return config;
        })
        .finally(() => this.discovering.delete(provider.id));
      this.discovering.set(provider.id, pending);
    }
    return pending;
  }

  private unavailable(provider: OidcProviderSettings, err: unknown): HttpError {
    this.d.logger.warn({ provider: provider.id, err: (err as Error)?.message }, 'identity provider unavailable');
    return new HttpError(503, 'provider_unavailable', {
      detail: `${provider.name} cannot be reached now; try again in a minute`,
      headers: { 'retry-after': '30' },
    });
  }

  /** Checks `redirectTo` against the allowed front-end origins (no open redirect). */
  private checkRedirect(redirectTo: string): string {
    let url: URL;
    try {
      url = new URL(redirectTo);
    } catch {
      throw HttpError.badRequest('redirect_not_allowed', 'redirectTo must be an absolute URL');
    }
    if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password || !this.d.settings.redirectOrigins.includes(url.origin)) {
      throw HttpError.badRequest('redirect_not_allowed', 'redirectTo is not on an allowed front-end origin (oidc.redirectOrigins)');
    }
    return url.toString();
  }

  private async storeOp<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw new HttpError(503, 'service_unavailable', { detail: 'The session store is unavailable; try again shortly', cause: err, headers: { 'retry-after': '5' } });
    }
  }

  /** Starts a flow: stores state, nonce and PKCE verifier (single use), answers the provider's URL. */
  private async begin(provider: OidcProviderSettings, record: Omit<FlowRecord, 'nonce' | 'verifier' | 'provider'>): Promise<string> {
    let config: oidc.Configuration;
    try {
      config = await this.configuration(provider);
    } catch (err) {
      throw this.unavailable(provider, err);
    }
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const verifier = oidc.randomPKCECodeVerifier();
    const flow: FlowRecord = { ...record, provider: provider.id, nonce, verifier };
    await this.storeOp(() => this.d.store.set(`oidc:state:${sha256(state)}`, JSON.stringify(flow), this.d.settings.stateTtlSec * 1000));
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri(provider.id),
      scope: provider.scope ?? 'openid email profile',
      response_type: 'code',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return url.toString();
  }

  /**
   * GET .../start: a sign-in. `browserCookie` is the caller's binding cookie if it has one; the answer
   * says which value to (re)set, so two tabs of one browser share it.
   */
  async startLogin(providerId: string, redirectTo: string, browserCookie: string | undefined, meta: RequestMeta): Promise<{ location: string; browserCookie: string }> {
    const provider = this.provider(providerId);
    const target = this.checkRedirect(redirectTo);
    await this.d.limiter.hit('oidc-start-ip', meta.ip, this.d.settings.startsPerIp);
    const browser = browserCookie && /^[A-Za-z0-9_-]{43}$/.test(browserCookie) ? browserCookie : randomBytes(32).toString('base64url');
    const location = await this.begin(provider, { redirectTo: target, intent: 'login', browser: sha256(browser) });
    return { location, browserCookie: browser };
  }

  /** POST /users/me/identities: the same flow, bound to the signed-in caller, ending in a link. */
  async startLink(principal: Principal, providerId: string, redirectTo: string, meta: RequestMeta): Promise<{ authorizationUrl: string }> {
    const provider = this.provider(providerId);
    const target = this.checkRedirect(redirectTo);
    await this.d.limiter.hit('oidc-start-ip', meta.ip, this.d.settings.startsPerIp);
    const authorizationUrl = await this.begin(provider, { redirectTo: target, intent: 'link', userId: principal.sub, sessionId: principal.sid });
    return { authorizationUrl };
  }

  /**
   * GET .../callback. Without a known state there is no page to return to: 400 `invalid_state`. From
   * then on every outcome is a redirect to the flow's page, with `code` (sign-in), `linked` (link) or
   * `error`; nothing is written unless the outcome is a success.
   */
  async callback(input: CallbackInput, meta: RequestMeta): Promise<CallbackResult> {
    const provider = this.provider(input.provider);
    const invalidState = () => HttpError.badRequest('invalid_state', 'This sign-in is unknown, expired or already finished; start it again');
    if (!input.state) throw invalidState();
    const raw = await this.storeOp(() => this.d.store.getdel(`oidc:state:${sha256(input.state!)}`));
    if (!raw) throw invalidState();
    const flow = JSON.parse(raw) as FlowRecord;
    if (flow.provider !== provider.id) throw invalidState();
    const back = (params: Record<string, string>): CallbackResult => {
      const url = new URL(flow.redirectTo);
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
      return { location: url.toString() };
    };
    try {
      if (flow.intent === 'login' && (!input.browserCookie || sha256(input.browserCookie) !== flow.browser)) {
        throw new RedirectError('invalid_state');
      }
      const claims = await this.identify(provider, flow, input);
      if (flow.intent === 'link') {
        await this.link(provider, flow, claims, meta);
        return back({ linked: provider.id });
      }
      const code = await this.login(provider, claims, meta);
      return back({ code });
    } catch (err) {
      if (err instanceof RedirectError) {
        if (err.error === 'server_error') this.d.logger.error({ err: err.cause, provider: provider.id }, 'identity provider sign-in failed');
        return back({ error: err.error });
      }
      this.d.logger.error({ err, provider: provider.id }, 'identity provider sign-in failed');
      return back({ error: 'server_error' });
    }
  }

  /** The code grant and the ID token checks (openid-client), then the claims (userinfo when the ID token lacks the e-mail). */
  private async identify(provider: OidcProviderSettings, flow: FlowRecord, input: CallbackInput): Promise<{ sub: string; email?: string; emailVerified: boolean; name?: string; locale?: string }> {
    let config: oidc.Configuration;
    try {
      config = await this.configuration(provider);
    } catch (err) {
      this.unavailable(provider, err);
      throw new RedirectError('provider_unavailable', err);
    }
    const current = new URL(this.redirectUri(provider.id));
    current.search = input.query;
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: flow.verifier,
        expectedState: input.state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      if (err instanceof oidc.AuthorizationResponseError) {
        throw new RedirectError(err.error === 'access_denied' ? 'access_denied' : 'provider_error', err);
      }
      if (isUnreachable(err)) {
        this.unavailable(provider, err);
        throw new RedirectError('provider_unavailable', err);
      }
      if (err instanceof oidc.ResponseBodyError) throw new RedirectError('provider_error', err);
      // The ID token failed a check (nonce, signature, issuer, audience, expiry) or the answer was malformed.
      this.d.logger.warn({ provider: provider.id, err: (err as Error).message }, 'identity provider answer refused');
      throw new RedirectError('invalid_response', err);
    }
    const idClaims = tokens.claims();
    if (!idClaims?.sub) throw new RedirectError('invalid_response');
    let claims: Record<string, unknown> = { ...idClaims };
    if (typeof claims.email !== 'string') {
      // Providers that follow the spec strictly put scope claims in userinfo only.
      try {
        claims = { ...claims, ...(await oidc.fetchUserInfo(config, tokens.access_token, idClaims.sub)) };
      } catch (err) {
        if (isUnreachable(err)) {
          this.unavailable(provider, err);
          throw new RedirectError('provider_unavailable', err);
        }
        throw new RedirectError('invalid_response', err);
      }
    }
    const email = typeof claims.email === 'string' && claims.email.includes('@') ? normaliseEmail(claims.email) : undefined;
    // Some providers send the boolean as a string.
    const emailVerified = claims.email_verified === true || claims.email_verified === 'true';
    const given = [claims.given_name, claims.family_name].filter((x) => typeof x === 'string' && x.trim()).join(' ');
    const name = typeof claims.name === 'string' && claims.name.trim() ? claims.name.trim() : given || undefined;
    return { sub: idClaims.sub, email, emailVerified, name, locale: typeof claims.locale === 'string' ? claims.locale : undefined };
  }

  /** The account rules of a sign-in; answers a one-time code for the exchange. */
  private async login(provider: OidcProviderSettings, claims: Awaited<ReturnType<OidcService['identify']>>, meta: RequestMeta): Promise<string> {
    const userId = await this.d.db.transaction(async (tx) => {
      const known = await this.d.identities.findByProviderSubject(provider.id, claims.sub, tx);
      if (known) {
        const user = await this.d.users.findById(known.user_id, tx);
        if (!user || user.disabled_at) throw new RedirectError('account_disabled');
        await this.d.identities.touch(known.id, tx);
        return user.id;
      }
      // A new identity: only a verified address may make an account, and never one that an account holds.
      if (!claims.email || !claims.emailVerified) throw new RedirectError('email_not_verified');
      if (await this.d.users.findByEmail(claims.email, tx)) throw new RedirectError('account_link_required');
      const user = await this.d.users.create(
        {
          id: newId(),
          email: claims.email,
          passwordHash: null,
          displayName: (claims.name ?? claims.email.split('@')[0]!).slice(0, 100),
          locale: claims.locale?.toLowerCase().startsWith('ru') ? 'ru' : 'en',
          verified: true,
        },
        tx,
      );
      // Taken by a registration that committed meanwhile.
      if (!user) throw new RedirectError('account_link_required');
      const identity = await this.d.identities.create({ id: newId(), userId: user.id, provider: provider.id, subject: claims.sub, email: claims.email }, tx);
      if (!identity) throw new RedirectError('server_error', new Error('identity linked concurrently'));
      await this.d.securityEvents.record(
        { userId: user.id, event: 'identity_linked', ip: meta.ip, userAgent: meta.userAgent, details: { provider: provider.id, identityId: identity.id, accountCreated: true } },
        tx,
      );
      return user.id;
    });
    const code = randomBytes(32).toString('base64url');
    const record: CodeRecord = { userId, provider: provider.id };
    try {
      await this.d.store.set(`oidc:code:${sha256(code)}`, JSON.stringify(record), this.d.settings.codeTtlSec * 1000);
    } catch (err) {
      throw new RedirectError('server_error', err);
    }
    return code;
  }

  /** Links the identity to the user who started the flow (never one linked to another account). */
  private async link(provider: OidcProviderSettings, flow: FlowRecord, claims: Awaited<ReturnType<OidcService['identify']>>, meta: RequestMeta): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      const user = flow.userId ? await this.d.users.findForUpdate(flow.userId, tx) : null;
      if (!user || user.disabled_at) throw new RedirectError('account_disabled');
      // The session that asked must still be live: a link started with a token since revoked does not finish.
      if (flow.sessionId) {
        const session = await this.d.sessions.findById(flow.sessionId, tx);
        if (!session || session.revoked_at || session.expires_at <= new Date()) throw new RedirectError('invalid_state');
      }
      const known = await this.d.identities.findByProviderSubject(provider.id, claims.sub, tx);
      if (known) {
        if (known.user_id !== user.id) throw new RedirectError('identity_in_use');
        return; // already linked to this account
      }
      if (!claims.email || !claims.emailVerified) throw new RedirectError('email_not_verified');
      const identity = await this.d.identities.create({ id: newId(), userId: user.id, provider: provider.id, subject: claims.sub, email: claims.email }, tx);
      if (!identity) throw new RedirectError('identity_in_use');
      await this.d.securityEvents.record(
        { userId: user.id, event: 'identity_linked', ip: meta.ip, userAgent: meta.userAgent, sessionId: flow.sessionId ?? null, details: { provider: provider.id, identityId: identity.id } },
        tx,
      );
    });
  }

  /** POST /auth/oidc/exchange: the one-time code for what a password login answers (through signIn). */
  async exchange(code: string, meta: RequestMeta): Promise<Awaited<ReturnType<AuthService['signIn']>>> {
    const raw = await this.storeOp(() => this.d.store.getdel(`oidc:code:${sha256(code)}`));
    if (!raw) throw HttpError.badRequest('invalid_oidc_code', 'The sign-in code is unknown, expired or already used; sign in again');
    const record = JSON.parse(raw) as CodeRecord;
    const user: UserRow | null = await this.d.users.findById(record.userId);
    if (!user) throw HttpError.badRequest('invalid_oidc_code', 'The sign-in code is unknown, expired or already used; sign in again');
    if (user.disabled_at) throw HttpError.forbidden('account_disabled', 'This account is disabled');
    return this.d.auth.signIn(user, meta, { amr: ['fed'], event: 'oidc_login' });
  }

  private providerName(id: string): string {
    return this.d.settings.providers.find((p) => p.id === id)?.name ?? id;
  }

  async list(principal: Principal): Promise<Identity[]> {
    const rows = await this.d.identities.listForUser(principal.sub);
    return rows.map((r) => toIdentity(r, this.providerName(r.provider)));
  }

  /** Removes one of the caller's identities, never the account's last way to sign in. */
  async unlink(principal: Principal, identityId: string, meta: RequestMeta): Promise<void> {
    await this.d.db.transaction(async (tx) => {
      // The user's row lock serialises concurrent unlinks (two tabs removing the last two identities).
      const user = await this.d.users.findForUpdate(principal.sub, tx);
      if (!user) throw HttpError.unauthorized('invalid_token', 'The account no longer exists');
      const identities = await this.d.identities.listForUser(user.id, tx);
      const target = identities.find((i) => i.id === identityId);
      if (!target) throw HttpError.notFound('identity_not_found', 'No identity of yours with this id');
      if (!user.password_hash && identities.length === 1) {
        throw HttpError.conflict('last_sign_in_method', 'This is your only way to sign in: set a password (password reset) or link another provider first');
      }
      await this.d.identities.delete(user.id, identityId, tx);
      await this.d.securityEvents.record(
        { userId: user.id, event: 'identity_unlinked', ip: meta.ip, userAgent: meta.userAgent, sessionId: principal.sid ?? null, details: { provider: target.provider, identityId } },
        tx,
      );
    });
  }
}
