/**
 * One access line per request, written when the answer has gone: method, URL (one-time tokens cut out),
 * client address, status, time and request id, under Fastify's message `request completed`. It takes
 * the place of Fastify's pair of lines (`incoming request`, `request completed`), through Fastify's
 * LogController, so no hook is added to the request's path; Fastify's other lines (default error
 * handler, 404, serializer and stream errors) stay as they were.
 *
 * At `info` every request gets a line unless `log.accessSample` < 1, which keeps that share of the
 * successful (< 400), fast ones; refusals, errors and requests slower than `log.slowRequestMs` always
 * get one, and a slow one is written at `warn`, so that it shows at `warn` too. The line goes through
 * `accessLogger` (logging.ts): the same stream and format, without the redaction that every other line
 * passes, which was most of what two lines per request cost (issue 16).
 */
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import { accessLogger, redactUrl, type Logger } from '../utils/logging.js';

export interface AccessLogSettings {
  slowRequestMs: number;
  accessSample: number;
}

export class AccessLogController extends LogController {
  private readonly access: Logger;
  private readonly slowMs: number;
  private readonly sample: number;

  constructor(logger: Logger, settings: AccessLogSettings) {
    super();
    this.access = accessLogger(logger);
    this.slowMs = settings.slowRequestMs > 0 ? settings.slowRequestMs : Infinity;
    this.sample = settings.accessSample;
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const ms = reply.elapsedTime;
    const status = reply.statusCode;
    const slow = ms >= this.slowMs;
    const level = error ? 'error' : slow ? 'warn' : 'info';
    if (!this.access.isLevelEnabled(level)) return;
    if (level === 'info' && this.sample < 1 && status < 400 && Math.random() >= this.sample) return;
    const url = request.url;
    const line = {
      reqId: request.id,
      req: { method: request.method, url: url.includes('?') ? redactUrl(url) : url, ip: request.ip },
      res: { statusCode: status },
      responseTime: ms,
    };
    // A failed write of the answer (the connection broke) keeps Fastify's own line, with the error.
    // (reply.log binds the request id already.)
    if (error) reply.log.error({ req: line.req, res: line.res, responseTime: ms, err: error }, 'request errored');
    else this.access[level](line, 'request completed');
  }
}
