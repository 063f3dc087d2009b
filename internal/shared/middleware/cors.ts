/** CORS: closed by default; the allowed origins come from settings (`http.corsOrigins`). */
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';

export async function registerCors(app: FastifyInstance, origins: string[]): Promise<void> {
  const any = origins.includes('*');
  await app.register(cors, {
    origin: any ? true : origins.length ? origins : false,
    // Bearer tokens, not cookies: credentials stay off so '*' cannot leak a session.
    credentials: false,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'if-match', 'if-none-match', 'x-request-id'],
    exposedHeaders: ['etag', 'x-request-id', 'x-cache', 'retry-after', 'location'],
    maxAge: 600,
  });
}
