/**
 * JSON logs (pino). Secrets never reach a log line: headers that carry credentials and body fields that
 * hold passwords or tokens are redacted, one-time tokens are cut out of logged URLs, and a database
 * error keeps its code and constraint but not the values it quotes. Every line is JSON with unique keys.
 */
import pino, { type Bindings, type ChildLoggerOptions, type Level, type Logger, type LoggerOptions } from 'pino';

const SECRET_FIELDS = [
  'password',
  'currentPassword',
  'newPassword',
  'token',
  'accessToken',
  'refreshToken',
  'access_token',
  'refresh_token',
  'client_secret',
  'clientSecret',
  'secret',
  'idToken',
  // Two-factor sign-in: the second step's ticket, the codes shown once, the enrolment URI (it holds the secret).
  'mfaToken',
  'recoveryCodes',
  'otpauthUri',
];

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `body.${f}`, `data.${f}`]),
];

/** Drops the values of query parameters that may carry one-time tokens or secrets. */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:token|code|state|nonce|code_verifier|client_secret|access_token|refresh_token)=)[^&#]*/gi, '$1[REDACTED]');
}

/**
 * Fields of a PostgreSQL error (pg and PGlite alike) that can quote a row or a query's values: DETAIL
 * (`Key (email)=(ada@example.com) already exists`), WHERE, HINT, the internal query, and the
 * parameters some wrappers attach. Code, constraint, table, column and routine are kept: they name
 * what failed without the data.
 */
const DATABASE_VALUE_FIELDS = ['detail', 'where', 'hint', 'internalQuery', 'parameters', 'params', 'values'];

function isDatabaseError(err: unknown): err is Error & { code: string; severity: string } {
  const e = err as { code?: unknown; severity?: unknown } | null;
  return typeof e?.severity === 'string' && typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code);
}

/** A database message without the value it quotes (`invalid input syntax for type uuid: "..."`). */
function scrubDatabaseMessage(message: string): string {
  return message.replace(/: ".*"$/s, ': [REDACTED]').replace(/(\bvalue|\bfield value|\bkey) "[^"]*"/g, '$1 [REDACTED]');
}

/**
 * pino's error serializer, without the values a database error carries: its value fields are dropped
 * (on the error and on any error-valued field), and its message, which pino also folds into the
 * message and stack of the errors it caused, loses the quoted input.
 */
export function serializeError(err: unknown): unknown {
  const out = pino.stdSerializers.err(err as Error) as unknown;
  if (out === err || typeof out !== 'object' || out === null) return out;
  const record = out as Record<string, unknown>;
  const dropFields = (source: unknown, target: Record<string, unknown>) => {
    if (isDatabaseError(source)) for (const field of DATABASE_VALUE_FIELDS) delete target[field];
  };
  dropFields(err, record);
  for (const [key, value] of Object.entries(record)) {
    const source = (err as Record<string, unknown>)[key];
    if (typeof value === 'object' && value !== null && isDatabaseError(source)) {
      record[key] = serializeError(source);
    }
  }
  // The cause chain (bounded: a cycle must not hang the logger).
  let cause: unknown = err;
  for (let depth = 0; depth < 10 && cause instanceof Error; depth++, cause = cause.cause) {
    if (!isDatabaseError(cause)) continue;
    const scrubbed = scrubDatabaseMessage(cause.message);
    if (scrubbed === cause.message) continue;
    for (const key of ['message', 'stack'] as const) {
      if (typeof record[key] === 'string') record[key] = (record[key] as string).split(cause.message).join(scrubbed);
    }
  }
  return out;
}

/**
 * pino's `isoTime`, formatted once per millisecond: at 10,000 lines a second most lines share their
 * millisecond with the one before, and `toISOString()` was the largest single cost of an access line
 * (a third of pino's share of a CPU profile at `info`). Same text as `pino.stdTimeFunctions.isoTime`.
 */
let lastTimeMs = -1;
let lastTimeText = '';
export function isoTimeOncePerMs(): string {
  const now = Date.now();
  if (now !== lastTimeMs) {
    lastTimeMs = now;
    lastTimeText = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTimeText;
}

/**
 * Keys pino writes itself (the level, the time, the base and Fastify's request binding). A log object
 * with one of them would make a line with the key twice, which JSON parsers read differently (most keep
 * the last): such fields are moved under `fields`. (`msg` is not here: pino writes an object's `msg` as
 * the message when the call gives none.)
 */
const OWN_KEYS = ['level', 'time', 'service', 'reqId'];

function uniqueKeys(object: Record<string, unknown>): Record<string, unknown> {
  let clash = false;
  for (const key of OWN_KEYS) if (key in object) clash = true;
  if (!clash) return object;
  const out: Record<string, unknown> = {};
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) {
    if (OWN_KEYS.includes(key)) fields[key] = value;
    else out[key] = value;
  }
  out.fields = fields;
  return out;
}

export function loggerOptions(level: string, service: string): LoggerOptions {
  return {
    level,
    base: { service },
    timestamp: isoTimeOncePerMs,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    formatters: { level: (label) => ({ level: label }), log: uniqueKeys },
    serializers: {
      req(req: { method: string; url: string; id?: string; ip?: string }) {
        return { method: req.method, url: redactUrl(req.url), ip: req.ip };
      },
      err: serializeError,
    },
  };
}

/** Destinations made by `logDestination`: the access lines of a turn go to them in one write. */
const batched = new WeakSet<object>();

/**
 * The service's own log destination: standard output (or a file), through the stream pino makes by
 * default (sonic-boom, asynchronous, flushed at exit). The access lines written to it are batched per
 * turn of the event loop (access_log.ts); a destination given by a caller gets pino's one write per line.
 */
export function logDestination(dest: number | string = process.stdout.fd ?? 1): pino.DestinationStream {
  const stream = pino.destination({ dest, sync: false });
  batched.add(stream);
  return stream;
}

/** Whether the access lines may be written to `stream` several in one write (see `logDestination`). */
export function takesBatches(stream: unknown): boolean {
  return typeof stream === 'object' && stream !== null && batched.has(stream);
}

export function createLogger(level: string, service: string, destination: pino.DestinationStream = logDestination()): Logger {
  return pino(loggerOptions(level, service), destination);
}

/**
 * A request's logger that becomes a real pino child only when it first writes a line. Fastify makes a
 * child per request (to bind the request id), and with the redaction above a pino child costs a few
 * microseconds; most requests of a service at `info` or above log nothing of their own but the two
 * request lines, and at `warn` nothing at all. Same output as `parent.child(bindings, options)`.
 */
export class LazyChildLogger {
  private real: Logger | undefined;

  constructor(
    private readonly parent: Logger,
    private readonly own: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  private logger(): Logger {
    return (this.real ??= this.parent.child(this.own, this.options));
  }

  private write(level: Level, args: unknown[]): void {
    if (this.real || this.parent.isLevelEnabled(level)) (this.logger()[level] as (...a: unknown[]) => void)(...args);
  }

  fatal(...args: unknown[]): void {
    this.write('fatal', args);
  }
  error(...args: unknown[]): void {
    this.write('error', args);
  }
  warn(...args: unknown[]): void {
    this.write('warn', args);
  }
  info(...args: unknown[]): void {
    this.write('info', args);
  }
  debug(...args: unknown[]): void {
    this.write('debug', args);
  }
  trace(...args: unknown[]): void {
    this.write('trace', args);
  }
  silent(): void {}

  get level(): string {
    return this.real?.level ?? this.parent.level;
  }
  set level(level: string) {
    this.logger().level = level;
  }

  isLevelEnabled(level: string): boolean {
    return (this.real ?? this.parent).isLevelEnabled(level);
  }

  bindings(): Bindings {
    return this.real ? this.real.bindings() : { ...this.parent.bindings(), ...this.own };
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): Logger {
    return this.logger().child(bindings, options);
  }
}

/** Fastify's `childLoggerFactory`: a lazy child unless the route asks for options of its own (a level). */
export function lazyChildLoggerFactory(logger: Logger, bindings: Bindings, options: ChildLoggerOptions): Logger {
  // Any own option (Fastify passes a route's level or serializers): a real child. (for-in: no array per request)
  for (const _ in options) return logger.child(bindings, options);
  return new LazyChildLogger(logger, bindings, options) as unknown as Logger;
}

export type { Logger };
