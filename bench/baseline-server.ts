/**
 * The floor of `npm run bench`: a bare Fastify server with one route that returns a fixed JSON body,
 * run as its own process (like the services) so that the load tool drives it the same way. Whatever
 * the services do on top of this (validation, cache lookups, serialisation, headers, metrics) is the
 * difference between its figures and theirs on the same machine in the same run.
 *
 *   node dist/bench/baseline-server.js --port 18000
 *
 * `GET /` answers `{"ok":true,"service":"baseline","items":[...]}`; SIGTERM closes it.
 */
import { parseArgs } from 'node:util';
import Fastify from 'fastify';

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } }, strict: true });

const BODY = { ok: true, service: 'baseline', items: [1, 2, 3] };
const app = Fastify({ logger: false });
app.get('/', async () => BODY);

const address = await app.listen({ host: values.host, port: Number(values.port) });
console.log(JSON.stringify({ level: 30, msg: 'baseline ready', address }));

const stop = () => void app.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
