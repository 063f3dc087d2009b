/** HTTP side of the account flows: reads the request, calls AuthService once, shapes the answer. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from '../../shared/utils/errors.js';
import { authProblem, principalOf } from '../../shared/middleware/authenticate.js';
import type { AuthService, RequestMeta } from '../services/auth_service.js';
import type { ClientCredentialsBody, LoginBody, LogoutBody, RefreshBody, RegisterBody } from '../models/auth_schemas.js';

const ACCEPTED = { message: 'Accepted. If the address can receive it, a mail is on its way.' };

function meta(request: FastifyRequest): RequestMeta {
  const ua = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof ua === 'string' ? ua : null };
}

/** RFC 6749 2.3.1: Basic credentials are percent-encoded first; broken encoding is the client's error, not a 500. */
function percentDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw HttpError.badRequest('invalid_request', 'The Basic credentials are not validly percent-encoded');
  }
}

export class AuthController {
  constructor(private readonly auth: AuthService) {}

  register = async (request: FastifyRequest<{ Body: RegisterBody }>, reply: FastifyReply) => {
    await this.auth.register(request.body, meta(request));
    return reply.code(202).send(ACCEPTED);
  };

  login = async (request: FastifyRequest<{ Body: LoginBody }>) => this.auth.login(request.body, meta(request));

  refresh = async (request: FastifyRequest<{ Body: RefreshBody }>) => this.auth.refresh(request.body.refreshToken, meta(request));

  logout = async (request: FastifyRequest<{ Body: LogoutBody | undefined }>, reply: FastifyReply) => {
    const refreshToken = request.body?.refreshToken;
    // Neither proof: the access token's own refusal (expired, revoked...), or "sign in first".
    if (!request.principal && !refreshToken) throw authProblem(request) ?? HttpError.unauthorized('unauthorized', 'Sign in first');
    await this.auth.logout(request.principal, request.body?.scope ?? 'local', refreshToken, meta(request));
    return reply.code(204).send();
  };

  verifyEmail = async (request: FastifyRequest<{ Body: { token: string } }>) => this.auth.verifyEmail(request.body.token, meta(request));

  resendVerification = async (request: FastifyRequest<{ Body: { email: string } }>, reply: FastifyReply) => {
    await this.auth.resendVerification(request.body.email, meta(request));
    return reply.code(202).send(ACCEPTED);
  };

  forgotPassword = async (request: FastifyRequest<{ Body: { email: string } }>, reply: FastifyReply) => {
    await this.auth.forgotPassword(request.body.email, meta(request));
    return reply.code(202).send(ACCEPTED);
  };

  resetPassword = async (request: FastifyRequest<{ Body: { token: string; password: string } }>, reply: FastifyReply) => {
    await this.auth.resetPassword(request.body.token, request.body.password, meta(request));
    return reply.code(204).send();
  };

  changePassword = async (request: FastifyRequest<{ Body: { currentPassword: string; newPassword: string } }>, reply: FastifyReply) => {
    await this.auth.changePassword(principalOf(request), request.body.currentPassword, request.body.newPassword, meta(request));
    return reply.code(204).send();
  };

  /** client_secret_basic (Authorization: Basic) or client_secret_post (body), per RFC 6749 2.3.1. */
  token = async (request: FastifyRequest<{ Body: ClientCredentialsBody }>, reply: FastifyReply) => {
    const body = request.body;
    if (body.grant_type !== 'client_credentials') {
      throw HttpError.badRequest('unsupported_grant_type', 'Only grant_type=client_credentials is supported here');
    }
    let id = body.client_id;
    let secret = body.client_secret;
    const basic = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(request.headers.authorization ?? '');
    if (basic) {
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) {
        id = percentDecode(decoded.slice(0, colon));
        secret = percentDecode(decoded.slice(colon + 1));
      }
    }
    if (!id || !secret) throw HttpError.badRequest('invalid_request', 'client_id and client_secret are required');
    reply.header('cache-control', 'no-store');
    return this.auth.clientCredentials(id, secret);
  };
}
