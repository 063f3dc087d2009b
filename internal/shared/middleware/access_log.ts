/**
 * One access line per request, written when the answer has gone: method, URL (one-time tokens cut out),
 * client address, status, time and request id, under Fastify's message `request completed`. It takes
 * the place of Fastify's pair of lines (`incoming request`, `request completed`), through Fastify's
 * LogController, so no hook is added to the request's path; Fastify's other lines (default error
 * handler, 404, serializer and stream errors) stay as they were.
 *
 * At `info` every request gets a line unless `log.accessSample` < 1, which keeps that share of the
 * successful (< 400), fast ones; refusals, errors and requests slower than `log.slowRequestMs` always
 * get one, and a slow one is written at `warn`, so that it shows at `warn` too.
 *
 * What a line costs (issue 16: `info` within reach of `warn` on a cached hit). Through pino, with the
 * redaction every other line passes, two lines per request cost more than the rest of a hit together;
 * one line through a bare pino logger still cost ~5 µs of building plus a write to the log per request.
 * So the line is built here, as text: its fields are known (the URL is already through `redactUrl`,
 * every string is JSON-escaped), its key order and format are pino's (`AccessLines.format`, tested
 * against pino's own line), on the same stream, after the same level, time and base bindings. And on
 * the service's own log destination (`logDestination`, the default), the lines of one turn of the event
 * loop go out in one write when the turn ends (`setImmediate`), instead of one write each: under load a
 * turn answers many requests. Other lines are written at once, so an access line can follow a line
 * written later in the same turn, never by more than that turn; a line waiting at `exit` is written
 * then. A destination the caller gave (a test's, a transport, a multistream that routes by level) gets
 * every line in a write of its own, as pino would write it.
 */
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import pino from 'pino';
import { isoTimeOncePerMs, redactUrl, takesBatches, type Logger } from '../utils/logging.js';

export interface AccessLogSettings {
  slowRequestMs: number;
  accessSample: number;
}

/** Writers holding lines of the current turn; written at the end of the turn, or at exit. */
const waiting = new Set<AccessLines>();
let exitHook = false;

/**
 * The access lines of one logger: built as pino would build them and written to its stream. Exported
 * for the tests, which compare a line with pino's own.
 */
export class AccessLines {
  private readonly stream: pino.DestinationStream;
  /** `,"service":"course-service"`: pino's serialised bindings of the logger, as it writes them. */
  private readonly bindings: string;
  private readonly batch: boolean;
  private pending = '';
  private scheduled = false;

  constructor(logger: Logger) {
    const own = logger as unknown as Record<symbol, unknown>;
    this.stream = own[pino.symbols.streamSym] as pino.DestinationStream;
    this.bindings = (own[pino.symbols.chindingsSym] as string | undefined) ?? '';
    this.batch = takesBatches(this.stream);
    if (this.batch && !exitHook) {
      exitHook = true;
      // A batch still waiting when the process exits goes out then, synchronously (pino's own exit
      // flush of the stream may already have run).
      process.on('exit', () => {
        for (const lines of waiting) lines.flushAtExit();
      });
    }
  }

  /** One line, in pino's key order: level, time, base bindings, the fields, msg. */
  static format(level: string, time: string, bindings: string, reqId: string, method: string, url: string, ip: string | undefined, statusCode: number, responseTime: number): string {
    return (
      `{"level":"${level}"${time}${bindings},"reqId":${JSON.stringify(reqId)},"req":{"method":${JSON.stringify(method)},"url":${JSON.stringify(url)}` +
      `${ip === undefined ? '' : `,"ip":${JSON.stringify(ip)}`}},"res":{"statusCode":${statusCode}},"responseTime":${Number.isFinite(responseTime) ? responseTime : null},"msg":"request completed"}\n`
    );
  }

  write(level: 'info' | 'warn', reqId: string, method: string, url: string, ip: string | undefined, statusCode: number, responseTime: number): void {
    const line = AccessLines.format(level, isoTimeOncePerMs(), this.bindings, reqId, method, url, ip, statusCode, responseTime);
    if (!this.batch) {
      this.stream.write(line);
      return;
    }
    this.pending += line;
    if (!this.scheduled) {
      this.scheduled = true;
      waiting.add(this);
      setImmediate(() => this.flush());
    }
  }

  /** Writes what waits (at the end of the turn, at close, at exit). */
  flush(): void {
    this.scheduled = false;
    waiting.delete(this);
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    this.stream.write(text);
  }

  private flushAtExit(): void {
    this.flush();
    try {
      (this.stream as { flushSync?: () => void }).flushSync?.();
    } catch {
      // A stream that is not ready or already closed: nothing more can be written at exit.
    }
  }
}

export class AccessLogController extends LogController {
  private readonly logger: Logger;
  readonly lines: AccessLines;
  private readonly slowMs: number;
  private readonly sample: number;

  constructor(logger: Logger, settings: AccessLogSettings) {
    super();
    this.logger = logger;
    this.lines = new AccessLines(logger);
    this.slowMs = settings.slowRequestMs > 0 ? settings.slowRequestMs : Infinity;
    this.sample = settings.accessSample;
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const ms = reply.elapsedTime;
    const status = reply.statusCode;
    if (error) {
      // A failed write of the answer (the connection broke) keeps Fastify's own line, with the error.
      // (reply.log binds the request id already.)
      if (!this.logger.isLevelEnabled('error')) return;
      reply.log.error({ req: this.req(request), res: { statusCode: status }, responseTime: ms, err: error }, 'request errored');
      return;
    }
    const level = ms >= this.slowMs ? 'warn' : 'info';
    if (!this.logger.isLevelEnabled(level)) return;
    if (level === 'info' && this.sample < 1 && status < 400 && Math.random() >= this.sample) return;
    const url = request.url;
    this.lines.write(level, request.id, request.method, url.includes('?') ? redactUrl(url) : url, request.ip, status, ms);
  }

  private req(request: FastifyRequest) {
    return { method: request.method, url: redactUrl(request.url), ip: request.ip };
  }
}
