/**
 * The committed typed clients (clients/<service>.ts) are exactly what openapi-typescript makes from
 * the committed swagger/<service>-swagger.yml (which another test keeps equal to what the service
 * serves). When this fails after a route change, run `npm run swagger && npm run gen-client`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLIENT_SERVICES, clientFile, clientSource } from '../../scripts/gen-client.js';

describe('generated typed clients', () => {
  for (const service of CLIENT_SERVICES) {
    it(`clients/${service}.ts matches swagger/${service}-swagger.yml`, async () => {
      const file = clientFile(service);
      expect(existsSync(file), `${file} is missing; run npm run gen-client`).toBe(true);
      const committed = readFileSync(file, 'utf8');
      const fresh = await clientSource(service);
      // Compare line by line first, so a failure names the first differing line rather than 4,000.
      const a = committed.split('\n');
      const b = fresh.split('\n');
      const first = a.findIndex((line, i) => line !== b[i]);
      const at = first === -1 ? Math.min(a.length, b.length) : first;
      expect(
        committed === fresh,
        `clients/${service}.ts is stale (first difference at line ${at + 1}: committed ${JSON.stringify(a[at])}, fresh ${JSON.stringify(b[at])}); run npm run gen-client`,
      ).toBe(true);
    });
  }
});
