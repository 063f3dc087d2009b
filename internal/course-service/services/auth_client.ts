/**
 * course-service's client of auth-service: its own access token by the client_credentials grant
 * (cached until a minute before it expires; one request for many callers), and
 * `POST /api/v1/notifications`. Answers are sorted into "accepted", "retry later" and "will never work".
 * Redirects are never followed (OWASP API10:2023): a 3xx is an error, retried like any other failure.
 */
export type NotifyOutcome = { kind: 'accepted' } | { kind: 'retry'; reason: string } | { kind: 'rejected'; reason: string };

export interface AuthClientOptions {
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  timeoutMs?: number;
}

export interface NotificationRequest {
  userId: string;
  template: 'review_created' | 'review_hidden' | 'enrolment_created' | 'course_completed' | 'course_announcement';
  data: Record<string, string | number | boolean | null>;
  idempotencyKey: string;
}

/** One page of auth-service's revocation feed (`GET /api/v1/internal/revocations`). */
export interface RevocationFeedPage {
  items: { kind: 'session' | 'user'; subject: string; notBefore: string; expiresAt: string }[];
  cursor: string;
  more: boolean;
}

export class AuthClient {
  private cached: { token: string; expiresAt: number } | undefined;
  private inflight: Promise<string> | undefined;

  constructor(private readonly options: AuthClientOptions) {}

  get configured(): boolean {
    return this.options.clientSecret.length > 0;
  }

  private url(path: string): string {
    return `${this.options.baseUrl.replace(/\/$/, '')}${path}`;
  }

  private async fetchToken(): Promise<string> {
    const res = await fetch(this.url('/api/v1/auth/token'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: this.options.clientId, client_secret: this.options.clientSecret }),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
      // A redirect would re-send the client secret (307/308 keep the body) to wherever it points.
      redirect: 'error',
    });
    if (!res.ok) {
      const err = new Error(`token request answered ${res.status}`);
      (err as Error & { status?: number }).status = res.status;
      throw err;
    }
    const body = (await res.json()) as { access_token: string; expires_in: number };
    this.cached = { token: body.access_token, expiresAt: Date.now() + Math.max(0, body.expires_in - 60) * 1000 };
    return body.access_token;
  }

  /** The service token, fetched when missing or about to expire; concurrent callers share one fetch. */
  async token(): Promise<string> {
    if (this.cached && this.cached.expiresAt > Date.now()) return this.cached.token;
    this.inflight ??= this.fetchToken().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** A page of the revocation feed after `after`; throws when auth-service cannot answer it. */
  async revocations(after: string): Promise<RevocationFeedPage> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.token();
      const res = await fetch(this.url(`/api/v1/internal/revocations?after=${encodeURIComponent(after)}`), {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
        redirect: 'error',
      });
      if (res.status === 401 && attempt === 0) {
        // The cached token may be signed by a key rotated out since: fetch a new one once.
        await res.arrayBuffer().catch(() => undefined);
        this.cached = undefined;
        continue;
      }
      if (!res.ok) {
        await res.arrayBuffer().catch(() => undefined);
        throw new Error(`revocations: HTTP ${res.status}`);
      }
      return (await res.json()) as RevocationFeedPage;
    }
  }

  async notify(request: NotificationRequest, requestId?: string): Promise<NotifyOutcome> {
    for (let attempt = 0; attempt < 2; attempt++) {
      let token: string;
      try {
        token = await this.token();
      } catch (err) {
        const status = (err as { status?: number }).status;
        // A refused client is a configuration problem an operator fixes: keep the events and retry.
        return { kind: 'retry', reason: status ? `token: HTTP ${status}` : `token: ${(err as Error).message}` };
      }
      let res: Response;
      try {
        res = await fetch(this.url('/api/v1/notifications'), {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...(requestId ? { 'x-request-id': requestId } : {}) },
          body: JSON.stringify(request),
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
          // Nor is the service token (and the mail's data) sent on to wherever a redirect points.
          redirect: 'error',
        });
      } catch (err) {
        return { kind: 'retry', reason: `notifications: ${(err as Error).message}` };
      }
      await res.arrayBuffer().catch(() => undefined);
      if (res.status === 202 || res.status === 200) return { kind: 'accepted' };
      if (res.status === 401 && attempt === 0) {
        // The cached token may have been signed by a key that has since been rotated out.
        this.cached = undefined;
        continue;
      }
      if (res.status >= 500 || res.status === 429 || res.status === 401 || res.status === 408) {
        return { kind: 'retry', reason: `notifications: HTTP ${res.status}` };
      }
      return { kind: 'rejected', reason: `notifications: HTTP ${res.status}` };
    }
    return { kind: 'retry', reason: 'notifications: unauthorized' };
  }
}
