/**
 * Which real servers the tests can reach. In CI (`REQUIRE_SERVICES=1`) a missing one fails the run;
 * elsewhere the suites that need it are skipped, and say so loudly.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';

export const REQUIRE_SERVICES = process.env.REQUIRE_SERVICES === '1';
export const PG_ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * The run's Redis key prefix, `test:<run>:`, set by test/global_setup.ts, which deletes every key under
 * it when the run ends. (A file run outside that setup gets one of its own, and cleans up nothing.)
 */
export const REDIS_RUN_PREFIX = process.env.TEST_REDIS_RUN_PREFIX ?? `test:${randomBytes(4).toString('hex')}:`;

/** A fresh key prefix under the run's, for one store or harness: `test:<run>:<label>:<random>:`. */
export function redisTestPrefix(label: string): string {
  return `${REDIS_RUN_PREFIX}${label}:${randomBytes(4).toString('hex')}:`;
}

function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) }, () => {
      socket.end();
      resolve(true);
    });
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(false));
  });
}

async function check(name: string, url: string): Promise<boolean> {
  if (await reachable(url)) return true;
  const message = `${name} is not reachable at ${url.replace(/\/\/[^@]*@/, '//')}`;
  if (REQUIRE_SERVICES) throw new Error(`${message} and REQUIRE_SERVICES=1`);
  console.error(`\n!!! SKIPPING suites that need ${name}: ${message}\n`);
  return false;
}

export const hasPostgres = await check('PostgreSQL', PG_ADMIN_URL);
export const hasRedis = await check('Redis', REDIS_URL);
