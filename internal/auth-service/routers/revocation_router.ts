/**
 * GET /api/v1/internal/revocations: the revocation feed for course-service (service token only; the
 * Ingress does not route /api/v1/internal). README, "Revocation".
 */
import type { App } from '../../shared/server.js';
import { problems } from '../../shared/utils/http_schemas.js';
import type { Authenticator } from '../../shared/middleware/authenticate.js';
import type { RevocationController } from '../controllers/revocation_controller.js';
import { RevocationPageSchema, RevocationQuery } from '../models/revocation.js';

export function revocationRouter(app: App, controller: RevocationController, authn: Authenticator): void {
  app.get('/api/v1/internal/revocations', {
    onRequest: authn.requireRole('service'),
    schema: {
      tags: ['internal'],
      summary: 'Ended sessions and disabled or deleted accounts whose access tokens may still be unexpired (service token)',
      description:
        'Entries after the cursor `after`, oldest first, until they expire (access-token lifetime plus skew). ' +
        'Entries past the returned `cursor` may come again: apply them idempotently.',
      security: [{ bearerAuth: [] }],
      querystring: RevocationQuery,
      response: { 200: RevocationPageSchema, ...problems({ 400: [], 401: [], 403: [] }) },
    },
  }, controller.list);
}
