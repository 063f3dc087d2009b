/**
 * `npm start`: both services on embedded defaults, each its own process (PostgreSQL in PGlite under
 * var/, cache and rate limits in memory, mail as .eml files under var/mail/). Settings in the
 * environment or config/*.yml still apply, so the same launcher runs against real servers too.
 *
 * The two services share one secret here: course-service's client_credentials secret, made once
 * under var/ and handed to both through the environment.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../internal/shared/utils/paths.js';

const varDir = resolve(process.env.VAR_DIR ?? join(PROJECT_ROOT, 'var'));
mkdirSync(varDir, { recursive: true });

function clientSecret(): string {
  const file = join(varDir, 'course-service-client-secret');
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

const secret = process.env.COURSE_CLIENT_SECRET ?? clientSecret();
const authPort = process.env.AUTH_PORT ?? '8081';
const coursePort = process.env.COURSE_PORT ?? '8082';
const env = {
  ...process.env,
  VAR_DIR: varDir,
  AUTH_PORT: authPort,
  COURSE_PORT: coursePort,
  AUTH_URL: process.env.AUTH_URL ?? `http://127.0.0.1:${authPort}`,
  AUTH_PUBLIC_URL: process.env.AUTH_PUBLIC_URL ?? `http://localhost:${authPort}`,
  COURSE_PUBLIC_URL: process.env.COURSE_PUBLIC_URL ?? `http://localhost:${coursePort}`,
  AUTH_CLIENTS: process.env.AUTH_CLIENTS ?? JSON.stringify([{ id: 'course-service', secret }]),
  COURSE_CLIENT_SECRET: secret,
};
delete (env as Record<string, string | undefined>).PORT;

const children: ChildProcess[] = [];
let stopping = false;

function run(service: string): ChildProcess {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'dist', 'cmd', service, 'main.js')], { env, stdio: 'inherit' });
  child.on('exit', (code, signal) => {
    if (stopping) return;
    console.error(`${service} stopped (${signal ?? `exit ${code}`}); stopping the other service`);
    stop(code ?? 1);
  });
  children.push(child);
  return child;
}

function stop(code: number): void {
  if (stopping) return;
  stopping = true;
  let left = children.filter((c) => c.exitCode === null).length;
  if (left === 0) process.exit(code);
  for (const child of children) {
    if (child.exitCode !== null) continue;
    child.once('exit', () => --left === 0 && process.exit(code));
    child.kill('SIGTERM');
  }
}

async function waitReady(url: string, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end && !stopping) {
    try {
      if ((await fetch(url)).ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

const started = Date.now();
console.log(`Starting auth-service (:${authPort}) and course-service (:${coursePort}) with data under ${varDir} ...`);
run('auth-service');
if (await waitReady(`http://127.0.0.1:${authPort}/readyz`, 60_000)) {
  run('course-service');
  if (await waitReady(`http://127.0.0.1:${coursePort}/readyz`, 60_000)) {
    console.log(
      [
        '',
        `Ready in ${((Date.now() - started) / 1000).toFixed(1)} s.`,
        `  auth-service   Swagger UI: http://localhost:${authPort}/docs`,
        `  course-service Swagger UI: http://localhost:${coursePort}/docs`,
        `  mail (one .eml per message): ${join(varDir, 'mail')}`,
        'Press Ctrl+C to stop.',
        '',
      ].join('\n'),
    );
  }
}
