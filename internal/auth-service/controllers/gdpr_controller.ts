/** HTTP side of account deletion, its cancel page and the data export: one service call per handler. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { principalOf } from '../../shared/middleware/authenticate.js';
import type { RequestMeta } from '../services/auth_service.js';
import type { DeletionService } from '../services/deletion_service.js';
import type { ExportService } from '../services/export_service.js';
import type { CancelDeletionBody, DeletionRequestBody } from '../models/gdpr_schemas.js';
import { COMMON_SCRIPT, page, send } from './pages_controller.js';

function meta(request: FastifyRequest): RequestMeta {
  const ua = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof ua === 'string' ? ua : null };
}

const CANCEL_SCRIPT = `${COMMON_SCRIPT}
document.getElementById('keep').addEventListener('click', async (e) => {
  e.target.disabled = true;
  const err = await post('/api/v1/auth/deletion/cancel', { token });
  show(!err, err || 'The deletion is cancelled: your account stays. Log in again (and change your password if you did not ask for the deletion).');
  if (err) e.target.disabled = false;
});`;

const CANCEL_PAGE = page(
  'Keep my account',
  '<p>Your account is scheduled for deletion. Press the button to cancel the deletion and keep it.</p><button id="keep" type="button">Keep my account</button>',
  CANCEL_SCRIPT,
);

export class GdprController {
  constructor(
    private readonly deletions: DeletionService,
    private readonly exports: ExportService,
  ) {}

  requestDeletion = async (request: FastifyRequest<{ Body: DeletionRequestBody }>, reply: FastifyReply) => {
    const answer = await this.deletions.request(principalOf(request), request.body, meta(request));
    return reply.code(202).send(answer);
  };

  cancelDeletion = async (request: FastifyRequest<{ Body: CancelDeletionBody }>, reply: FastifyReply) => {
    await this.deletions.cancel(request.body.token, meta(request));
    return reply.code(204).send();
  };

  cancelPage = async (_request: FastifyRequest, reply: FastifyReply) => send(reply, CANCEL_PAGE);

  exportData = async (request: FastifyRequest, reply: FastifyReply) => {
    const document = await this.exports.export(principalOf(request), { ...meta(request), requestId: request.id });
    return reply
      .header('cache-control', 'no-store')
      .header('content-disposition', `attachment; filename="course-platform-export-${document.exportedAt.slice(0, 10)}.json"`)
      .send(document);
  };
}
