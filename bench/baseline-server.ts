/**
 * The floor of `npm run bench`: a bare Fastify server with one route that returns a fixed JSON body,
 * run as its own process (like the services) so that the load tool drives it the same way. Whatever
 * the services do on top of this (validation, cache lookups, serialisation, headers, metrics) is the
 * difference between its figures and theirs on the same machine in the same run.
 *
 *   node dist/bench/baseline-server.js --port 18000
 *
 * `GET /` answers a fixed course-shaped object of about 1.3 KB, the size of a course detail of the
 * bench catalogue: on loopback the bytes themselves cost (a 100-byte body gives about 40% more
 * requests per second than a 1.3 KB one on this machine), and the ratio is meant to measure the
 * service's own work, not the size of its answer. SIGTERM closes it.
 */
import { parseArgs } from 'node:util';
import Fastify from 'fastify';

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } }, strict: true });

const BODY = {
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
const app = Fastify({ logger: false });
app.get('/', async () => BODY);

const address = await app.listen({ host: values.host, port: Number(values.port) });
console.log(JSON.stringify({ level: 30, msg: 'baseline ready', address }));

const stop = () => void app.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
