/**
 * auth-service's client of course-service's internal API (`/internal/v1`). It authenticates with a
 * service token auth-service signs itself (role `service`, subject `client:auth-service`), which
 * course-service verifies with the JWKS it already reads: no client secret in either direction.
 * Answers of an event delivery are sorted into "accepted", "retry later" and "will never work", as
 * course-service's AuthClient does. Redirects are never followed (OWASP API10:2023).
 */
import type { TokenService } from './token_service.js';

export const AUTH_SERVICE_CLIENT_ID = 'auth-service';

export type DeliveryOutcome = { kind: 'accepted' } | { kind: 'retry'; reason: string } | { kind: 'rejected'; reason: string };

export interface CourseClientOptions {
  baseUrl: string;
  timeoutMs: number;
}

export class CourseServiceUnavailable extends Error {}

export class CourseClient {
  private cached: { token: string; expiresAt: number } | undefined;

  constructor(
    private readonly tokens: TokenService,
    private readonly options: CourseClientOptions,
  ) {}

  private url(path: string): string {
    return `${this.options.baseUrl.replace(/\/$/, '')}${path}`;
  }

  /** auth-service's own service token, re-signed a minute before it expires. */
  private async token(): Promise<string> {
    if (this.cached && this.cached.expiresAt > Date.now()) return this.cached.token;
    const token = await this.tokens.issueAccessToken({ sub: `client:${AUTH_SERVICE_CLIENT_ID}`, role: 'service', name: AUTH_SERVICE_CLIENT_ID, emailVerified: true });
    this.cached = { token, expiresAt: Date.now() + Math.max(0, this.tokens.accessTokenTtlSec - 60) * 1000 };
    return token;
  }

  private async request(method: 'GET' | 'POST', path: string, body: unknown, requestId?: string): Promise<Response> {
    return fetch(this.url(path), {
      method,
      headers: {
        authorization: `Bearer ${await this.token()}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(requestId ? { 'x-request-id': requestId } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(this.options.timeoutMs),
      redirect: 'error',
    });
  }

  /** POST /internal/v1/account-events; the event id doubles as the request id. */
  async deliver(event: { eventId: string } & Record<string, unknown>): Promise<DeliveryOutcome> {
    let res: Response;
    try {
      res = await this.request('POST', '/internal/v1/account-events', event, event.eventId);
    } catch (err) {
      return { kind: 'retry', reason: `account-events: ${(err as Error).message}` };
    }
    await res.arrayBuffer().catch(() => undefined);
    if (res.status === 200 || res.status === 202 || res.status === 204) return { kind: 'accepted' };
    if (res.status >= 500 || res.status === 429 || res.status === 401 || res.status === 408) {
      return { kind: 'retry', reason: `account-events: HTTP ${res.status}` };
    }
    return { kind: 'rejected', reason: `account-events: HTTP ${res.status}` };
  }

  /** GET /internal/v1/user-export?userId=; CourseServiceUnavailable on any failure (the export then fails whole). */
  async exportUser(userId: string, requestId?: string): Promise<Record<string, unknown>> {
    let res: Response;
    try {
      res = await this.request('GET', `/internal/v1/user-export?userId=${encodeURIComponent(userId)}`, undefined, requestId);
    } catch (err) {
      throw new CourseServiceUnavailable(`export: ${(err as Error).message}`);
    }
    if (res.status !== 200) {
      await res.arrayBuffer().catch(() => undefined);
      throw new CourseServiceUnavailable(`export: HTTP ${res.status}`);
    }
    try {
      return (await res.json()) as Record<string, unknown>;
    } catch (err) {
      throw new CourseServiceUnavailable(`export: ${(err as Error).message}`);
    }
  }
}
