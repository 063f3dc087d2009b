/**
 * The floor of `npm run bench`: a bare Fastify server that answers each path with bytes fetched from
 * course-service before the run and held here already serialised (a Buffer), with the same
 * content-type. Run as its own process (like the services) so that the load tool drives it the same
 * way, with the same paths and the same connection count: whatever the services do on top of this
 * (validation, cache lookup, headers, metrics, logging) is the difference between its figures and
 * theirs on the same machine in the same run.
 *
 *   node dist/bench/baseline-server.js --port 18000 --bodies <file.json>
 *
 * `--bodies` names a JSON file `{ "contentType": "...", "bodies": { "<path?query>": "<body>" } }`; a
 * path not in it gets the first body. Without `--bodies`, `GET /` answers a fixed course-shaped JSON of
 * about 1.3 KB (the earlier floor, kept for a quick look). Why the same bytes: on loopback the size of
 * the answer costs (a 100-byte body gives about 40% more requests per second than a 1.3 KB one), and a
 * floor that serialises an object on every request is slower than the real floor, which flatters the
 * ratio (issue 16). SIGTERM closes it.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';

const { values } = parseArgs({
  options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' }, bodies: { type: 'string', default: '' } },
  strict: true,
});

const FALLBACK = {
  id: '018af58d-b168-7ab7-aa0b-7779550cb863',
  slug: 'baseline-course',
  title: 'A fixed answer of the size of a course',
  summary: 'Understand how the floor of the machine is measured while you build a benchmark.',
  description: 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. '.repeat(5),
  category: 'programming-languages',
  tags: ['rust', 'cpp', 'python', 'java'],
  level: 'advanced',
  language: 'en',
  durationMinutes: 495,
  instructorId: '01945748-dea1-78c4-9bb1-a5ba55726feb',
  instructorName: 'Laura Smith',
  status: 'published',
  publishedAt: '2023-11-29T18:26:39.842Z',
  createdAt: '2023-10-03T12:40:18.536Z',
  updatedAt: '2024-02-01T03:35:48.970Z',
  rating: { average: 4.21, count: 1234, distribution: { 1: 10, 2: 20, 3: 100, 4: 400, 5: 704 } },
};

const file = values.bodies
  ? (JSON.parse(readFileSync(values.bodies, 'utf8')) as { contentType: string; bodies: Record<string, string> })
  : { contentType: 'application/json; charset=utf-8', bodies: { '/': JSON.stringify(FALLBACK) } };
const bodies = new Map(Object.entries(file.bodies).map(([path, body]) => [path, Buffer.from(body)]));
const first = bodies.values().next().value!;
const contentType = file.contentType;

const app = Fastify({ logger: false });
// One wildcard route and a Map lookup by the whole URL: the same paths as the measured run, each
// answered with its own bytes.
app.get('/*', (request, reply) => {
  reply.header('content-type', contentType).send(bodies.get(request.url) ?? first);
});

const address = await app.listen({ host: values.host, port: Number(values.port) });
console.log(JSON.stringify({ level: 30, msg: 'baseline ready', address, bodies: bodies.size }));

const stop = () => void app.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
