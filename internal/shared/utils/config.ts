/**
 * Settings: schema defaults < config/<service>-config.yml < environment variables, validated once at
 * start. Every setting lives in a TypeBox schema; an environment variable maps to a setting through the
 * `env` list of that schema, so the mapping, the defaults and the generated reference stay in one place.
 */
import { readFileSync, existsSync } from 'node:fs';
import { Type, type TObject, type TSchema, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Environment variables for one setting, first match wins (e.g. `AUTH_PORT` before `PORT`). */
export interface EnvBinding {
  path: string;
  vars: string[];
  /** Reads the text when the schema's type alone cannot say how (a union). */
  parse?: (raw: string) => unknown;
}

/** What `http.corsOrigins` entries look like: `*`, or scheme://host with an optional port or `:*`. */
const CORS_ORIGIN_PATTERN = '^(\\*|https?://([A-Za-z0-9.-]+|\\[[0-9A-Fa-f:.]+\\])(:([0-9]{1,5}|\\*))?)$';

/** What `npm start` allows when nothing else is set: a front end on any port of this machine. */
export const EMBEDDED_CORS_ORIGINS = 'http://localhost:*,http://127.0.0.1:*';

/** An IPv4/IPv6 address or CIDR, or one of proxy-addr's names (loopback, linklocal, uniquelocal). */
const PROXY_ADDRESS_PATTERN = '^(loopback|linklocal|uniquelocal|[0-9]{1,3}(\\.[0-9]{1,3}){3}(/[0-9]{1,2})?|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*(/[0-9]{1,3})?)$';

/**
 * `TRUST_PROXY`: `true`/`false`, a hop count (`1`), or a comma-separated or JSON list of addresses.
 * A number is a hop count, not a boolean: `TRUST_PROXY=1` means "one proxy in front", the safe
 * reading (`true` would believe whatever a client writes into X-Forwarded-For).
 */
export function parseTrustProxy(raw: string): unknown {
  const value = raw.trim();
  if (/^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  if (/^[0-9]+$/.test(value)) return Number(value);
  if (value.startsWith('[')) return JSON.parse(value) as unknown;
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Sections that every service has. */
export const HttpSettings = Type.Object({
  host: Type.String({ default: '127.0.0.1', description: 'Interface to listen on' }),
  port: Type.Integer({ minimum: 0, maximum: 65535, description: 'TCP port' }),
  bodyLimit: Type.Integer({ minimum: 1024, default: 65536, description: 'Largest request body, bytes' }),
  corsOrigins: Type.Array(Type.String({ pattern: CORS_ORIGIN_PATTERN }), {
    default: [],
    description:
      'Browser origins allowed by CORS (echoed, without credentials): exact (https://app.example) or any port (http://localhost:*); empty allows none, ["*"] any',
  }),
  trustProxy: Type.Union([Type.Boolean(), Type.Integer({ minimum: 0 }), Type.Array(Type.String({ pattern: PROXY_ADDRESS_PATTERN }))], {
    default: false,
    description:
      'Whose X-Forwarded-For to believe: false (nobody), a hop count (1 = the nearest proxy, e.g. the ingress), a list of proxy addresses/CIDRs, or true (any: only when nothing else can reach the port)',
  }),
  docs: Type.Boolean({ default: true, description: 'Serve Swagger UI and the OpenAPI document at /docs (off removes them)' }),
  metricsToken: Type.String({ default: '', description: 'When set, /metrics needs `Authorization: Bearer <this>` (give it to Prometheus); empty = open' }),
  shutdownGraceMs: Type.Integer({ minimum: 0, default: 10000, description: 'Drain time on SIGTERM' }),
});

export const DatabaseSettings = Type.Object({
  url: Type.String({ default: '', description: 'PostgreSQL URL; empty runs embedded PGlite under varDir' }),
  poolSize: Type.Integer({ minimum: 1, default: 10, description: 'Connections in the pool' }),
  migrateOnStart: Type.Boolean({ default: true, description: 'Apply pending migrations at start' }),
  statementTimeoutMs: Type.Integer({ minimum: 0, default: 10000, description: 'Per-statement timeout' }),
  connectTimeoutMs: Type.Integer({ minimum: 100, default: 5000, description: 'Give up opening a connection after this long (then 503)' }),
});

export const RedisSettings = Type.Object({
  url: Type.String({ default: '', description: 'Redis URL; empty keeps cache and rate limits in memory' }),
  keyPrefix: Type.String({ default: '', description: 'Prefix for every key (share one Redis safely)' }),
});

export const LogSettings = Type.Object({
  level: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info', description: 'pino log level' },
  ),
  slowRequestMs: Type.Integer({
    minimum: 0,
    default: 1000,
    description: 'A request that took this long (ms) gets its access line at warn, so it is logged at warn too (0 = never)',
  }),
  accessSample: Type.Number({
    minimum: 0,
    maximum: 1,
    default: 1,
    description: 'Share of successful (< 400) and fast requests that get an access line (1 = every one); refusals, errors and slow requests always do',
  }),
});

export const SHARED_ENV: EnvBinding[] = [
  { path: 'database.url', vars: ['DATABASE_URL'] },
  { path: 'redis.url', vars: ['REDIS_URL'] },
  { path: 'redis.keyPrefix', vars: ['REDIS_KEY_PREFIX'] },
  { path: 'database.connectTimeoutMs', vars: ['DATABASE_CONNECT_TIMEOUT_MS'] },
  { path: 'log.level', vars: ['LOG_LEVEL'] },
  { path: 'log.slowRequestMs', vars: ['LOG_SLOW_REQUEST_MS'] },
  { path: 'log.accessSample', vars: ['LOG_ACCESS_SAMPLE'] },
  { path: 'varDir', vars: ['VAR_DIR'] },
  { path: 'http.host', vars: ['HOST'] },
  { path: 'http.trustProxy', vars: ['TRUST_PROXY'], parse: parseTrustProxy },
  { path: 'http.docs', vars: ['DOCS_ENABLED'] },
  { path: 'http.metricsToken', vars: ['METRICS_TOKEN'] },
];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== 'object' || node[part] === null) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

function schemaAt(schema: TSchema, path: string): TSchema | undefined {
  let node: TSchema | undefined = schema;
  for (const part of path.split('.')) {
    node = (node as TObject | undefined)?.properties?.[part];
  }
  return node;
}

/** Turns an environment string into the type its setting expects. */
function fromEnv(raw: string, schema: TSchema | undefined): unknown {
  if (schema?.type === 'array') {
    const trimmed = raw.trim();
    if (trimmed.startsWith('[')) return JSON.parse(trimmed) as Json;
    return trimmed === '' ? [] : trimmed.split(',').map((s) => s.trim());
  }
  if (schema?.type === 'object') return JSON.parse(raw) as Json;
  return raw;
}

function mergeDeep(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value) && prev && typeof prev === 'object' && !Array.isArray(prev)
        ? mergeDeep(prev as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}

export interface LoadConfigOptions {
  /** Path of the YAML file; missing is fine, a broken one is not. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Settings given by code (tests, the embedded launcher); they win over everything. */
  overrides?: Record<string, unknown>;
}

export function loadConfig<S extends TObject>(schema: S, bindings: EnvBinding[], options: LoadConfigOptions = {}): Static<S> {
  const env = options.env ?? process.env;
  let merged: Record<string, unknown> = {};

  if (options.file && existsSync(options.file)) {
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(options.file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`Cannot read ${options.file}: ${(err as Error).message}`);
    }
    if (parsed !== null && parsed !== undefined) {
      if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`${options.file} must be a YAML mapping`);
      merged = mergeDeep(merged, parsed as Record<string, unknown>);
    }
  }

  const origin = new Map<string, string>();
  for (const binding of bindings) {
    const name = binding.vars.find((v) => env[v] !== undefined && env[v] !== '');
    if (!name) continue;
    let value: unknown;
    try {
      value = binding.parse ? binding.parse(env[name]!) : fromEnv(env[name]!, schemaAt(schema, binding.path));
    } catch {
      throw new ConfigError(`Invalid setting ${binding.path} (from ${name}): not valid JSON`);
    }
    const patch: Record<string, unknown> = {};
    setPath(patch, binding.path, value);
    merged = mergeDeep(merged, patch);
    origin.set(binding.path, name);
  }
  if (options.overrides) merged = mergeDeep(merged, options.overrides);

  const withDefaults = Value.Default(schema, Value.Convert(schema, merged)) as unknown;
  const errors = [...Value.Errors(schema, withDefaults)];
  if (errors.length > 0) {
    const first = errors[0]!;
    const path = first.path.replace(/^\//, '').replaceAll('/', '.') || '(root)';
    const from = origin.get(path) ? ` (from ${origin.get(path)})` : options.file ? ` (in ${options.file} or defaults)` : '';
    throw new ConfigError(`Invalid setting ${path}${from}: ${first.message}`);
  }
  const unknown = unknownKeys(schema, withDefaults as Record<string, unknown>, '');
  if (unknown.length > 0) throw new ConfigError(`Unknown setting ${unknown[0]}${options.file ? ` in ${options.file}` : ''}`);
  return withDefaults as Static<S>;
}

function unknownKeys(schema: TSchema, value: Record<string, unknown>, prefix: string): string[] {
  const props = (schema as TObject).properties;
  if (!props || typeof value !== 'object' || value === null) return [];
  const out: string[] = [];
  for (const key of Object.keys(value)) {
    const sub = props[key];
    if (!sub) {
      if ((schema as TObject).additionalProperties === undefined || (schema as TObject).additionalProperties === false) {
        out.push(prefix + key);
      }
      continue;
    }
    if (sub.type === 'object' && sub.properties) out.push(...unknownKeys(sub, value[key] as Record<string, unknown>, `${prefix}${key}.`));
  }
  return out;
}

/** A flat list of settings (path, env vars, default, description) for the README's reference. */
export function describeSettings(schema: TSchema, bindings: EnvBinding[], prefix = ''): { path: string; env: string; default: string; description: string }[] {
  const rows: { path: string; env: string; default: string; description: string }[] = [];
  const props = (schema as TObject).properties ?? {};
  for (const [key, sub] of Object.entries(props)) {
    const path = prefix + key;
    if (sub.type === 'object' && sub.properties) {
      rows.push(...describeSettings(sub, bindings, `${path}.`));
      continue;
    }
    const env = bindings.find((b) => b.path === path)?.vars.join(', ') ?? '';
    rows.push({ path, env, default: sub.default === undefined ? '' : JSON.stringify(sub.default), description: String(sub.description ?? '') });
  }
  return rows;
}
