/**
 * The types the Fastify base (`server.ts`) and its middleware share. Apart from server.ts so that a
 * middleware file never imports the module that imports it (server.ts -> middleware -> server.ts).
 */
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Registry } from 'prom-client';

export type App = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

export interface ReadinessCheck {
  name: string;
  /** A critical check that fails makes /readyz answer 503; a non-critical one reports `degraded`. */
  critical: boolean;
  check(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Registry;
  }
}
