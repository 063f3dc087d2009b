/**
 * Writes the typed clients' types, clients/<service>.ts, from the committed OpenAPI documents
 * (swagger/<service>-swagger.yml) with openapi-typescript; clients/index.ts wraps them with
 * openapi-fetch. test/e2e/client_fresh.test.ts fails when a committed file differs from what this
 * makes, so run `npm run gen-client` after `npm run swagger`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import openapiTS, { astToString, COMMENT_HEADER, type OpenAPI3 } from 'openapi-typescript';
import { parse as parseYaml } from 'yaml';
import { PROJECT_ROOT } from '../internal/shared/utils/paths.js';

export const CLIENT_SERVICES = ['auth-service', 'course-service'] as const;
export type ClientService = (typeof CLIENT_SERVICES)[number];

export function clientFile(service: ClientService): string {
  return join(PROJECT_ROOT, 'clients', `${service}.ts`);
}

const HEADER = `${COMMENT_HEADER.trimEnd()}
/* Generated from swagger/SERVICE-swagger.yml by scripts/gen-client.ts (npm run gen-client). */

`;

/** The TypeScript source of clients/<service>.ts, made from the committed OpenAPI document. */
export async function clientSource(service: ClientService): Promise<string> {
  const doc = parseYaml(readFileSync(join(PROJECT_ROOT, 'swagger', `${service}-swagger.yml`), 'utf8')) as OpenAPI3;
  const ast = await openapiTS(doc, { silent: true, alphabetize: false });
  return HEADER.replace('SERVICE', service) + astToString(ast);
}

async function main(): Promise<void> {
  for (const service of CLIENT_SERVICES) {
    const file = clientFile(service);
    writeFileSync(file, await clientSource(service));
    console.log(`wrote ${file}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
