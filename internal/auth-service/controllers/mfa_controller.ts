/** HTTP side of two-factor sign-in, re-authentication and the "this was not me" link: one service call per handler. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { principalOf } from '../../shared/middleware/authenticate.js';
import type { MfaVerifyBody, ReauthenticateBody } from '../models/mfa.js';
import type { RequestMeta } from '../services/auth_service.js';
import type { MfaService } from '../services/mfa_service.js';
import type { NotMeService } from '../services/new_device.js';
import { COMMON_SCRIPT, page, send } from './pages_controller.js';

function meta(request: FastifyRequest): RequestMeta {
  const ua = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof ua === 'string' ? ua : null };
}

const NOT_ME_SCRIPT = `${COMMON_SCRIPT}
document.getElementById('report').addEventListener('click', async (e) => {
  e.target.disabled = true;
  const err = await post('/api/v1/auth/not-me', { token });
  show(!err, err || 'Done: every session of your account has ended, and a link to choose a new password is on its way to your mailbox.');
  if (err) e.target.disabled = false;
});`;

const NOT_ME = page(
  'This was not me',
  '<p>Someone signed in to your account from a new device. If it was not you, press the button: every session of your account ends at once and we mail you a link to choose a new password.</p><button id="report" type="button">End every session and reset my password</button>',
  NOT_ME_SCRIPT,
);

export class MfaController {
  constructor(
    private readonly mfa: MfaService,
    private readonly notMe: NotMeService,
  ) {}

  status = async (request: FastifyRequest) => this.mfa.status(principalOf(request));

  enrol = async (request: FastifyRequest, reply: FastifyReply) => reply.code(201).send(await this.mfa.enrol(principalOf(request)));

  activate = async (request: FastifyRequest<{ Params: { id: string }; Body: { code: string } }>) =>
    this.mfa.activate(principalOf(request), request.params.id, request.body.code, meta(request));

  remove = async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    await this.mfa.remove(principalOf(request), request.params.id, meta(request));
    return reply.code(204).send();
  };

  regenerate = async (request: FastifyRequest) => this.mfa.regenerateRecoveryCodes(principalOf(request), meta(request));

  verify = async (request: FastifyRequest<{ Body: MfaVerifyBody }>) => this.mfa.verify(request.body, meta(request));

  reauthenticate = async (request: FastifyRequest<{ Body: ReauthenticateBody }>) =>
    this.mfa.reauthenticate(principalOf(request), request.body, meta(request));

  reportNotMe = async (request: FastifyRequest<{ Body: { token: string } }>, reply: FastifyReply) => {
    await this.notMe.report(request.body.token, meta(request));
    return reply.code(204).send();
  };

  notMePage = async (_request: FastifyRequest, reply: FastifyReply) => send(reply, NOT_ME);
}
