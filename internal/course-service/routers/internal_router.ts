/**
 * The internal API (`/internal/v1`), for auth-service only: its service token (role `service`, subject
 * `client:auth-service`); users and other service clients get 403. The ingress does not route
 * `/internal`, so it is reachable only inside the cluster.
 */
import type { App } from '../../shared/server.js';
import { problems } from '../../shared/utils/http_schemas.js';
import type { Authenticator } from '../../shared/middleware/authenticate.js';
import type { InternalController } from '../controllers/internal_controller.js';
import { AccountEventBody, AccountEventResultSchema, UserExportQuery, UserExportSchema } from '../models/account_events.js';
import { bearer } from './route_schemas.js';

const tags = ['internal'];

export function internalRouter(app: App, internal: InternalController, authn: Authenticator): void {
  const service = authn.requireRole('service');

  app.post('/internal/v1/account-events', {
    onRequest: service,
    schema: {
      tags,
      summary: "Apply an account event from auth-service's outbox (idempotent by eventId)",
      description:
        '`account_deleted`: the user\'s reviews become anonymous ("Deleted user", no author id; aggregates unchanged) or, with ' +
        '`eraseReviews`, are deleted with the aggregates corrected exactly; enrolments, lesson completions and certificates are ' +
        "deleted (course counters follow); the user's courses are archived. A replayed event answers `duplicate` and changes nothing.",
      security: bearer,
      body: AccountEventBody,
      response: { 200: AccountEventResultSchema, ...problems({ 400: [], 401: [], 403: ['forbidden'], 413: [], 415: [] }) },
    },
  }, internal.accountEvent);

  // The user is a query parameter, not a path: course-service keeps no users, so every id has an export
  // (empty for one it knows nothing of), which a path would present as a resource that exists.
  app.get('/internal/v1/user-export', {
    onRequest: service,
    schema: {
      tags,
      summary: "A user's data held by course-service, for auth-service's GDPR export",
      security: bearer,
      querystring: UserExportQuery,
      response: { 200: UserExportSchema, ...problems({ 400: [], 401: [], 403: ['forbidden'] }) },
    },
  }, internal.userExport);
}
