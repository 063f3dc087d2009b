/**
 * JSON logs (pino). Secrets never reach a log line: headers that carry credentials and body fields that
 * hold passwords or tokens are redacted, and one-time tokens are cut out of logged URLs.
 */
import pino, { type Logger, type LoggerOptions } from 'pino';

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
  return url.replace(/([?&](?:token|code|client_secret|access_token|refresh_token)=)[^&#]*/gi, '$1[REDACTED]');
}

export function loggerOptions(level: string, service: string): LoggerOptions {
  return {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    formatters: { level: (label) => ({ level: label }) },
    serializers: {
      req(req: { method: string; url: string; id?: string; ip?: string }) {
        return { method: req.method, url: redactUrl(req.url), ip: req.ip };
      },
      err: pino.stdSerializers.err,
    },
  };
}

export function createLogger(level: string, service: string, destination?: pino.DestinationStream): Logger {
  return destination ? pino(loggerOptions(level, service), destination) : pino(loggerOptions(level, service));
}

export type { Logger };
