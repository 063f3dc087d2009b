/**
 * The access line (issue 16): one line per request instead of Fastify's two, with the request id,
 * method, URL without one-time tokens, status and time; slow requests at warn; `log.accessSample`
 * thins only fast successes.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { AccessLines } from '../../internal/shared/middleware/access_log.js';
import { createServer } from '../../internal/shared/server.js';
import { createLogger, isoTimeOncePerMs, logDestination } from '../../internal/shared/utils/logging.js';
import { duplicateKeys } from '../helpers/json_keys.js';

const dir = mkdtempSync(join(tmpdir(), 'access-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function server(level: string, log: { slowRequestMs: number; accessSample: number }, destination?: pino.DestinationStream) {
  const lines: string[] = [];
  const app = await createServer({
    service: 'test-service',
    version: '1.0.0',
    description: 'access log test',
    logger: createLogger(level, 'test-service', destination ?? { write: (line: string) => void lines.push(line) }),
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

  it('builds the line pino would write for the same fields, byte for byte, and escapes what it must', () => {
    vi.useFakeTimers({ now: new Date('2026-12-07T03:04:05.678Z'), toFake: ['Date'] });
    try {
      const written: string[] = [];
      const bare = pino(
        { level: 'info', base: { service: 'course-service' }, timestamp: isoTimeOncePerMs, formatters: { level: (label) => ({ level: label }) } },
        { write: (l: string) => void written.push(l) },
      );
      const cases: [string, string, string, string | undefined, number, number][] = [
        ['r-1', 'GET', '/api/v1/courses/0b3e3c3e-1111-4222-8333-444455556666', '127.0.0.1', 200, 0.4213],
        ['9f\\"x', 'POST', '/a/"quoted"\\back/\u00e9t\u00e9/\u2028?q=\u0001', '::1', 404, 12],
        ['r-3', 'HEAD', '/', undefined, 304, 0],
      ];
      for (const [reqId, method, url, ip, statusCode, responseTime] of cases) {
        bare.info({ reqId, req: { method, url, ip }, res: { statusCode }, responseTime }, 'request completed');
        const ours = AccessLines.format('info', isoTimeOncePerMs(), ',"service":"course-service"', reqId, method, url, ip, statusCode, responseTime);
        expect(ours).toBe(written.at(-1));
        expect((JSON.parse(ours) as { req: { url: string } }).req.url).toBe(url);
      }
    } finally {
      vi.useRealTimers();
    }
  });

  it('on its own destination writes the lines of a turn in one write, all of them, in order of completion', async () => {
    const file = join(dir, 'batched.log');
    const destination = logDestination(file);
    // The file is opened asynchronously, and the writes to it are asynchronous too (sonic-boom).
    await once(destination as unknown as NodeJS.EventEmitter, 'ready');
    let writes = 0;
    const write = destination.write.bind(destination);
    destination.write = (text: string) => {
      writes++;
      return write(text);
    };
    const { app } = await server('info', { slowRequestMs: 1000, accessSample: 1 }, destination);
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => app.inject({ url: `/fast?n=${i}`, headers: { 'x-request-id': `batch-${i}` } })));
    expect(answers.every((a) => a.statusCode === 200)).toBe(true);
    // sonic-boom writes asynchronously (and its flush() does not wait for a write in flight): wait for the file.
    const lines = await vi.waitFor(
      () => {
        const text = readFileSync(file, 'utf8').trim().split('\n');
        if (text.length < 40) throw new Error(`${text.length} lines so far`);
        return text;
      },
      { timeout: 5000, interval: 20 },
    );
    expect(lines).toHaveLength(40);
    expect(lines.every((l) => duplicateKeys(l).length === 0)).toBe(true);
    const ids = lines.map((l) => (JSON.parse(l) as { reqId: string }).reqId);
    expect(new Set(ids).size).toBe(40);
    expect(ids.every((id) => id.startsWith('batch-'))).toBe(true);
    // Fewer writes than lines: the answers of a turn shared one.
    expect(writes).toBeGreaterThan(0);
    expect(writes).toBeLessThan(40);
    await app.close();
  });

  it('writes the lines still waiting when the process exits', async () => {
    const file = join(dir, 'exit.log');
    const script = join(import.meta.dirname, 'fixtures', 'access_exit.ts');
    await promisify(execFile)(join(process.cwd(), 'node_modules', '.bin', 'vite-node'), [script, file, '7'], { timeout: 20_000 });
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string; req: { url: string } });
    const access = lines.filter((l) => l.msg === 'request completed');
    expect(access.map((l) => l.req.url).sort()).toEqual(Array.from({ length: 7 }, (_, i) => `/ping?n=${i}`).sort());
  });
});
