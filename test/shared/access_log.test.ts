/**
 * The access line (issue 16): one line per request instead of Fastify's two, with the request id,
 * method, URL without one-time tokens, status and time; slow requests at warn; `log.accessSample`
 * thins only fast successes.
 */
import { describe, expect, it } from 'vitest';
import { createServer } from '../../internal/shared/server.js';
import { createLogger } from '../../internal/shared/utils/logging.js';
import { duplicateKeys } from '../helpers/json_keys.js';

async function server(level: string, log: { slowRequestMs: number; accessSample: number }) {
  const lines: string[] = [];
  const app = await createServer({
    service: 'test-service',
    version: '1.0.0',
    description: 'access log test',
    logger: createLogger(level, 'test-service', { write: (line: string) => void lines.push(line) }),
    log,
    http: { bodyLimit: 65536, corsOrigins: [], trustProxy: false, docs: false },
    readiness: [],
    tags: [],
  });
  app.get('/fast', async () => ({ ok: true }));
  app.get('/slow', async () => {
    await new Promise((r) => setTimeout(r, 30));
    return { ok: true };
  });
  await app.ready();
  const entries = () => lines.map((l) => JSON.parse(l) as Record<string, unknown> & { req?: Record<string, unknown>; res?: Record<string, unknown> });
  return { app, lines, entries };
}

describe('access log', () => {
  it('writes one JSON line per request, with the request id, and no token of the URL', async () => {
    const { app, lines, entries } = await server('info', { slowRequestMs: 1000, accessSample: 1 });
    const res = await app.inject({ url: '/fast?token=secret-one-time&x=1', headers: { 'x-request-id': 'req-123' } });
    expect(res.statusCode).toBe(200);
    expect(lines).toHaveLength(1);
    expect(duplicateKeys(lines[0]!)).toEqual([]);
    expect(lines[0]).not.toContain('secret-one-time');
    expect(entries()[0]).toMatchObject({
      level: 'info',
      service: 'test-service',
      reqId: 'req-123',
      msg: 'request completed',
      req: { method: 'GET', url: '/fast?token=[REDACTED]&x=1' },
      res: { statusCode: 200 },
    });
    expect(typeof entries()[0]!.responseTime).toBe('number');
    await app.close();
  });

  it('logs slow requests at warn, so they show at warn too, and nothing else there', async () => {
    const { app, entries } = await server('warn', { slowRequestMs: 20, accessSample: 1 });
    await app.inject({ url: '/fast' });
    await app.inject({ url: '/slow' });
    expect(entries().map((e) => [e.level, e.req?.url])).toEqual([['warn', '/slow']]);
    await app.close();
  });

  it('with accessSample 0 keeps refusals and slow requests, drops fast successes', async () => {
    const { app, entries } = await server('info', { slowRequestMs: 20, accessSample: 0 });
    await app.inject({ url: '/fast' });
    await app.inject({ url: '/nowhere' });
    await app.inject({ url: '/slow' });
    expect(entries().map((e) => [e.res?.statusCode, e.req?.url])).toEqual([
      [404, '/nowhere'],
      [200, '/slow'],
    ]);
    await app.close();
  });
});
