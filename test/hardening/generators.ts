/**
 * Hostile requests generated from an OpenAPI document (the one a running app serves), for the
 * hardening suites. Nothing here knows a route by name: operations, parameters, bodies and security
 * come from the document, and every schema-violating variant is checked against the documented schema
 * (with an Ajv set up like the services' validators) before it is filed as "must be refused".
 *
 * Two kinds of variants:
 *  - `refused`: designed to be refused (schema violations, malformed or oversized bodies, wrong content
 *    types, bad or missing tokens, targets that do not exist). The suites send these as one batch and
 *    check that the databases did not change.
 *  - `content`: hostile text that the schema allows (injection strings, odd Unicode, fast-check strings)
 *    in every free-text field, so the handlers and the SQL see it. The server may accept these.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import type { InjectOptions } from 'fastify';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import fc from 'fast-check';
import type { Database } from '../../internal/shared/utils/database.js';
import { CANONICAL_UUID } from '../../internal/shared/utils/ids.js';
import type { InjectedResponse, ResponseChecker } from '../helpers/openapi.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

// ---------------------------------------------------------------------------------------------------
// The document

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  default?: unknown;
  examples?: unknown[];
  $ref?: string;
  [key: string]: unknown;
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema: JsonSchema;
}

export interface Operation {
  method: string;
  path: string;
  operationId: string;
  parameters: Parameter[];
  body?: { contentTypes: string[]; schema: JsonSchema; required: boolean };
  /** A token is required (security lists only bearer schemes). */
  secured: boolean;
  /** A token is optional (security lists `{}` and bearer). */
  optionalAuth: boolean;
  statuses: string[];
}

interface OpenApiDoc {
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/** Resolves local `$ref`s (`#/components/schemas/X`) one level at a time. */
function deref(doc: OpenApiDoc, schema: JsonSchema): JsonSchema {
  let s = schema;
  for (let i = 0; i < 10 && s.$ref; i++) {
    const name = s.$ref.replace(/^#\/components\/schemas\//, '');
    s = doc.components?.schemas?.[name] ?? {};
  }
  return s;
}

function inline(doc: OpenApiDoc, schema: JsonSchema): JsonSchema {
  const s = deref(doc, schema);
  const out: JsonSchema = { ...s };
  if (s.properties) out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, inline(doc, v)]));
  if (s.items) out.items = inline(doc, s.items);
  if (s.anyOf) out.anyOf = s.anyOf.map((x) => inline(doc, x));
  if (s.oneOf) out.oneOf = s.oneOf.map((x) => inline(doc, x));
  if (typeof s.additionalProperties === 'object') out.additionalProperties = inline(doc, s.additionalProperties);
  return out;
}

/** Every operation of the document (paths × methods), in document order. */
export function operationsOf(document: unknown): Operation[] {
  const doc = document as OpenApiDoc;
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const security = (op.security as Record<string, string[]>[] | undefined) ?? [];
      const hasBearer = security.some((s) => Object.keys(s).length > 0);
      const hasAnonymous = security.length === 0 || security.some((s) => Object.keys(s).length === 0);
      const rb = op.requestBody as { required?: boolean; content: Record<string, { schema: JsonSchema }> } | undefined;
      const contentTypes = rb ? Object.keys(rb.content) : [];
      ops.push({
        method: method.toUpperCase(),
        path,
        operationId: String(op.operationId ?? `${method} ${path}`),
        parameters: ((op.parameters as Parameter[] | undefined) ?? []).map((p) => ({ ...p, schema: inline(doc, p.schema) })),
        ...(rb ? { body: { contentTypes, schema: inline(doc, (rb.content['application/json'] ?? Object.values(rb.content)[0]!).schema), required: rb.required ?? false } } : {}),
        secured: hasBearer && !hasAnonymous,
        optionalAuth: hasBearer && hasAnonymous,
        statuses: Object.keys((op.responses as Record<string, unknown> | undefined) ?? {}),
      });
    }
  }
  return ops;
}

// ---------------------------------------------------------------------------------------------------
// Validation as the services do it (server.ts: bodies strict, query/params/headers coerced)

function makeAjv(coerce: boolean): Ajv {
  const ajv = new Ajv({ allErrors: false, strict: false, useDefaults: true, coerceTypes: coerce ? 'array' : false });
  addFormats(ajv);
  ajv.addFormat('uuid', CANONICAL_UUID);
  return ajv;
}
const bodyAjv = makeAjv(false);
const textAjv = makeAjv(true);
const compiled = new Map<string, ValidateFunction>();

function validator(ajv: Ajv, schema: JsonSchema): ValidateFunction {
  const key = `${ajv === bodyAjv ? 'b' : 't'}:${JSON.stringify(schema)}`;
  let v = compiled.get(key);
  if (!v) {
    v = ajv.compile(schema);
    compiled.set(key, v);
  }
  return v;
}

/** True when the value passes the schema as the services validate a body. */
export function bodyValid(schema: JsonSchema, value: unknown): boolean {
  return validator(bodyAjv, schema)(structuredClone(value)) === true;
}

/** The parameters of one location as one object schema (unknown names allowed: the document cannot say). */
function paramSchema(op: Operation, where: Parameter['in']): JsonSchema {
  const params = op.parameters.filter((p) => p.in === where);
  return {
    type: 'object',
    properties: Object.fromEntries(params.map((p) => [p.name, p.schema])),
    required: params.filter((p) => p.required && p.schema.default === undefined).map((p) => p.name),
  };
}

/** Query values as the services' query parser hands them over: repeated names become arrays. */
function queryObject(pairs: [string, string][]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of pairs) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

export function paramsValid(op: Operation, where: Parameter['in'], values: Record<string, unknown>): boolean {
  return validator(textAjv, paramSchema(op, where))(structuredClone(values)) === true;
}

// ---------------------------------------------------------------------------------------------------
// Hostile values

export const ODD_UNICODE: readonly string[] = [
  '\uD800', // lone high surrogate
  'a\uDFFFb', // lone low surrogate
  '\u202Egnp.exe\u202C', // right-to-left override
  '\u200B', // zero-width space alone
  'a\u200B\u200C\u200Db\uFEFF',
  '\u0000', // NUL
  'nul\u0000inside',
  '😀🎉',
  '👩‍👩‍👧‍👦',
  'e\u0301\u0302\u0303\u0304\u0305\u0306\u0307',
  'Z\u0335\u0321\u0322\u031B\u0317\u0318\u0319\u031C\u031D\u031E\u031F\u0320\u0300\u0301\u0302',
  '\uFFFF\uFFFE',
  '\u{10FFFF}',
  'line\u2028sep\u2029para',
  '\r\n\t\u000B\u000C',
  '\u001B[31mred\u001B[0m',
  'İıßﬀΩ',
  '   ',
  '\u00A0\u3000',
];

export const INJECTIONS: readonly string[] = [
  "' OR 1=1 --",
  '"; DROP TABLE users; --',
  "'); DROP TABLE courses; --",
  "' UNION SELECT password_hash FROM users --",
  '1; SELECT pg_sleep(3)',
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  '${7*7}',
  '{{7*7}}',
  '#{7*7}',
  '../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '%00',
  '%',
  '_',
  '\\',
  "\\'",
  '$1',
  '$$',
  ':*',
  '!!',
  '& | ! <-> ( ) :*',
  '"unterminated',
  'or',
  '-',
  // websearch_to_tsquery stacks an operator per dash: 33 overflowed PostgreSQL's tsquery stack (a 500).
  '-'.repeat(40),
  '{"$gt":""}',
  '__proto__',
  'constructor',
  'null',
  '; cat /etc/passwd',
  '`id`',
];

/** Path values that are not UUIDs (or are, but name nothing). */
export const BAD_IDS: readonly string[] = [
  'not-a-uuid',
  "00000000-0000-0000-0000-000000000000'",
  '00000000-0000-0000-0000-00000000000',
  '00000000-0000-0000-0000-0000000000000',
  'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz',
  '{00000000-0000-0000-0000-000000000000}',
  // ajv-formats' `uuid` takes these; PostgreSQL does not (the services accept only the canonical form).
  'urn:uuid:01890a5d-ac96-774b-bcce-b302099a8057',
  'URN:UUID:00000000-0000-0000-0000-000000000000',
  '01890a5dac96774bbcceb302099a8057',
  '1',
  '-1',
  '0',
  '9999999999999999999999',
  "1' OR '1'='1",
  'x'.repeat(150),
  'x'.repeat(400),
  '%00',
  '\u0000',
  '😀',
  '..',
  '../../etc/passwd',
];

/** UUIDs that are well formed but name nothing. */
export function ghostIds(): string[] {
  return ['00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', randomUUID(), '01890a5d-ac96-774b-bcce-b302099a8057'];
}

/**
 * Token-shaped text a string schema allows, whose parts are not what the server parses them into: a
 * refresh token whose session part is no UUID (36 dashes fit `[0-9a-f-]{36}`, not PostgreSQL's uuid).
 * Sent as content probes in every free-text body field (where tokens travel): the answer may be
 * anything but a 5xx.
 */
export const TOKEN_SHAPES: readonly string[] = [
  `${'-'.repeat(36)}.1.${'A'.repeat(43)}`,
  `${'0'.repeat(36)}.1.${'A'.repeat(43)}`,
  `00000000-0000-0000-0000-000000000000.1.${'A'.repeat(43)}`,
  `0000000-00000-0000-0000-00000000000a.0.${'-'.repeat(43)}`,
  `ffffffff-ffff-ffff-ffff-ffffffffffff.999999999.${'_'.repeat(43)}`,
  `urn:uuid:01890a5d-ac96-774b-bcce-b302099a8057.1.${'A'.repeat(43)}`,
];

/**
 * HTTP Basic credentials (RFC 6749 2.3.1: percent-encoded id and secret) that do not decode: broken
 * escapes, overlong UTF-8, no colon. Sent to every OAuth token endpoint (the operations that take forms).
 */
export const BAD_BASIC_CREDENTIALS: readonly string[] = ['%zz:secret', 'course-service:%', 'course-service:%E0%A4%A', '%C0%AF:%FF', '%:%', ':', 'no-colon', '%00:%00'];

const LONG = 100 * 1024;

/** A value of each JSON type the schema does not allow (null, boolean, number, string, array, object). */
function wrongTypes(schema: JsonSchema): unknown[] {
  const candidates: unknown[] = [null, true, false, 0, 42, -1, 1.5, 'text', '', '42', 'true', [], ['a'], [1], {}, { a: 1 }];
  return candidates.filter((v) => !bodyValid(schema, v));
}

function stringViolations(schema: JsonSchema): string[] {
  const out: string[] = [];
  if ((schema.minLength ?? 0) >= 1) out.push('');
  if (schema.maxLength !== undefined) out.push('x'.repeat(schema.maxLength + 1), 'é'.repeat(schema.maxLength + 1), '😀'.repeat(Math.ceil((schema.maxLength + 1) / 2)));
  if (schema.format || schema.pattern || schema.enum) {
    out.push('not valid', ...INJECTIONS.slice(0, 12), ...ODD_UNICODE.slice(0, 8), 'x'.repeat(300));
    if (schema.enum) out.push(...schema.enum.map((e) => String(e).toUpperCase()), ...schema.enum.map((e) => ` ${String(e)}`), `${String(schema.enum[0])}\u0000`);
    if (schema.format === 'email') out.push('a@', '@b.c', 'a b@c.d', 'a@b@c.d', "' OR 1=1 --@x.y\u0000", 'ada@example.com\n', 'ada@example.com\u0000');
    if (schema.format === 'uuid') out.push(...BAD_IDS);
  }
  return out;
}

function numberViolations(schema: JsonSchema): unknown[] {
  const out: unknown[] = [-1, 0, 1e9, -1e9, 2 ** 53 + 2, 1e308, -1e308];
  if (schema.minimum !== undefined) out.push(schema.minimum - 1, schema.minimum - 0.5);
  if (schema.maximum !== undefined) out.push(schema.maximum + 1, schema.maximum + 0.5);
  if (schema.type === 'integer') out.push(1.5, 2.000001);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Valid values (the base a variant mutates, so that its one mutation is the only fault)

const PATTERN_CANDIDATES = ['en', 'probe', 'probe-value', 'x', 'abcdefghijklmnop', 'ABCDEFGHIJKLMNOP12345', 'a1', '123456'];

export function validValue(schema: JsonSchema): unknown {
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  if (schema.default !== undefined) return schema.default;
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches) return validValue(branches.find((b) => b.type !== 'null') ?? branches[0]!);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'string': {
      if (schema.format === 'email') return `hostile.${randomUUID().slice(0, 8)}@example.com`;
      if (schema.format === 'uuid') return randomUUID();
      if (schema.format === 'date-time') return new Date().toISOString();
      const min = Math.max(schema.minLength ?? 0, 1);
      const candidates = schema.pattern ? PATTERN_CANDIDATES : ['probe'];
      for (const c of candidates) {
        const s = c.length >= min ? c : c + 'x'.repeat(min - c.length);
        if (bodyValid(schema, s)) return s;
      }
      return 'x'.repeat(min);
    }
    case 'integer':
    case 'number':
      return Math.min(Math.max(schema.minimum ?? 1, 1), schema.maximum ?? Number.MAX_SAFE_INTEGER);
    case 'boolean':
      return true;
    case 'array':
      return schema.items ? [validValue(schema.items)] : [];
    case 'null':
      return null;
    default: {
      const out: Record<string, unknown> = {};
      const props = schema.properties ?? {};
      for (const name of schema.required ?? []) out[name] = validValue(props[name] ?? {});
      const min = schema.minProperties ?? 0;
      for (const [name, sub] of Object.entries(props)) {
        if (Object.keys(out).length >= min) break;
        if (!(name in out)) out[name] = validValue(sub);
      }
      return out;
    }
  }
}

/**
 * Real ids for an operation's path parameters, each by the collection the path names before it
 * (`/sessions/{id}` takes `ids.sessions`); a random UUID where the test has none.
 */
export function pathValues(op: Operation, ids: Record<string, string>): Record<string, string> {
  const segments = op.path.split('/');
  return Object.fromEntries(
    op.parameters.filter((p) => p.in === 'path').map((p) => [p.name, ids[segments[segments.indexOf(`{${p.name}}`) - 1] ?? ''] ?? randomUUID()]),
  );
}

/** A schema-valid body: the given fields where valid, the rest filled in from the schema. */
export function baseBody(schema: JsonSchema, given: Record<string, unknown> = {}): Record<string, unknown> {
  const body = { ...(validValue(schema) as Record<string, unknown>), ...given };
  if (!bodyValid(schema, body)) throw new Error(`base body does not match its schema: ${JSON.stringify(body)}`);
  return body;
}

// ---------------------------------------------------------------------------------------------------
// Requests

export type Auth = 'token' | 'none' | { header: string };

export interface BaseRequest {
  path: Record<string, string>;
  query: [string, string][];
  body?: Record<string, unknown>;
  headers?: Record<string, string>;
}

export interface Variant {
  kind: 'refused' | 'content';
  op: Operation;
  /** What is hostile about it, e.g. `body.email: wrong type 42`. */
  label: string;
  /** Why a refusal is expected, or what may legitimately happen (shown in findings). */
  reason: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
  auth: Auth;
  /** Exact statuses expected, when the variant pins one (413, 415, 401...). */
  expect?: number[];
  /** Answers may be 2xx: an unknown query parameter on a GET may be ignored. */
  mayBeIgnored?: boolean;
  /** The hostile text sent, removed from the answer before it is scanned for leaks (echoes are not leaks). */
  probe?: string;
  /** For content variants: the JSON body field set to the hostile value (to compare with the answer). */
  field?: string;
  value?: unknown;
}

/** Percent-encodes every UTF-8 byte that is not unreserved (lone surrogates become U+FFFD, as on the wire). */
export function encode(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function buildUrl(op: Operation, path: Record<string, string>, query: [string, string][], raw?: { path?: Record<string, string>; query?: string }): string {
  const p = op.path.replace(/\{([^}]+)\}/g, (_, name: string) => raw?.path?.[name] ?? encode(path[name] ?? ''));
  const q = [...query.map(([k, v]) => `${encode(k)}=${encode(v)}`), ...(raw?.query ? [raw.query] : [])].join('&');
  return q ? `${p}?${q}` : p;
}

function jsonHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { 'content-type': 'application/json', ...extra };
}

export interface RefusedOptions {
  bodyLimit: number;
  /** Real cursors of this list (first pages with limit=1), to tamper with. */
  cursors?: string[];
  /** A real token to tamper with (secured operations). */
  token?: string;
  /** Values that name nothing for the path parameters (default: ghostIds()). */
  ghosts?: string[];
  /** fast-check: seed and samples per operation (random JSON in body fields, random text in parameters). */
  seed?: number;
  runs?: number;
  /** Also send every variant without a token (secured operations). */
  alsoWithoutToken?: boolean;
}

/** JSON text of a body with an extra raw member (`"__proto__": ...` cannot be made with an object literal). */
function withRawMember(body: Record<string, unknown>, member: string): string {
  const text = JSON.stringify(body);
  return text === '{}' ? `{${member}}` : `{${member},${text.slice(1)}`;
}

function forgeTokens(token: string | undefined): { label: string; header: string }[] {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const out = [
    { label: 'empty bearer', header: 'Bearer ' },
    { label: 'bearer garbage', header: 'Bearer garbage' },
    { label: 'bearer injection', header: `Bearer ${"' OR 1=1 --"}` },
    { label: 'bearer three dots', header: 'Bearer a.b.c' },
    { label: 'bearer of 8 kB', header: `Bearer ${'A'.repeat(8192)}` },
    { label: 'basic scheme', header: 'Basic dXNlcjpwYXNz' },
    { label: 'alg none', header: `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: randomUUID(), role: 'admin', exp: 4102444800 })}.` },
    { label: 'HS256 forged', header: `Bearer ${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: randomUUID(), role: 'admin', exp: 4102444800 })}.c2lnbmF0dXJl` },
  ];
  if (token) {
    const [h, p, s] = token.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
    const flipped = s.slice(0, -2) + (s.endsWith('AA') ? 'BB' : 'AA');
    out.push(
      { label: 'signature flipped', header: `Bearer ${h}.${p}.${flipped}` },
      { label: 'role raised, old signature', header: `Bearer ${h}.${b64({ ...payload, role: 'admin', sub: randomUUID() })}.${s}` },
      { label: 'expired claims, old signature', header: `Bearer ${h}.${b64({ ...payload, exp: 1 })}.${s}` },
      { label: 'token twice', header: `Bearer ${token} ${token}` },
      { label: 'token with NUL', header: `Bearer ${token}%00` },
    );
  }
  return out;
}

const MALFORMED_JSON = [
  '{',
  '{"a":',
  '[',
  'nul',
  "{'single': 'quotes'}",
  '{"a":1,}',
  '{"a":1}garbage',
  '{"a" "b"}',
  '{"a":NaN}',
  '{"a":undefined}',
  '\u0000',
  '{"a":"\\uZZZZ"}',
  '{"a":"\\ud800"',
  ' ',
];

/** Every variant of one operation that is designed to be refused. */
export function refusedVariants(op: Operation, base: BaseRequest, options: RefusedOptions): Variant[] {
  const out: Variant[] = [];
  const ghosts = options.ghosts ?? ghostIds();
  const baseHeaders = base.headers ?? {};
  const auth: Auth = op.secured || op.optionalAuth ? 'token' : 'none';
  const url = (query = base.query, path = base.path, raw?: { path?: Record<string, string>; query?: string }) => buildUrl(op, path, query, raw);
  const add = (v: Omit<Variant, 'kind' | 'op' | 'method' | 'headers' | 'auth'> & { headers?: Record<string, string>; auth?: Auth }) =>
    out.push({ kind: 'refused', op, method: op.method, auth, ...v, headers: { ...baseHeaders, ...v.headers } });
  const bodyText = base.body !== undefined ? JSON.stringify(base.body) : undefined;
  const withBody = bodyText !== undefined ? { payload: bodyText, headers: jsonHeaders() } : {};
  const schema = op.body?.schema;
  const jsonOk = op.body?.contentTypes.includes('application/json') ?? false;

  // --- the body -------------------------------------------------------------------------------------
  if (op.body && schema && base.body) {
    const b = base.body;
    const sendBody = (label: string, body: unknown, reason = 'violates the body schema') => {
      if (bodyValid(schema, body)) return; // not a refusal: the schema allows it
      add({ label, reason, url: url(), payload: JSON.stringify(body), headers: jsonHeaders(), probe: typeof body === 'object' ? undefined : String(body) });
    };
    const fieldMutations = (prefix: string, obj: Record<string, unknown>, s: JsonSchema, set: (o: Record<string, unknown>) => unknown) => {
      const props = s.properties ?? {};
      for (const name of s.required ?? []) {
        const { [name]: _drop, ...rest } = obj;
        sendBody(`${prefix}${name}: missing`, set(rest));
      }
      for (const [name, sub] of Object.entries(props)) {
        const field = `${prefix}${name}`;
        for (const w of wrongTypes(sub)) sendBody(`${field}: wrong type ${JSON.stringify(w)}`, set({ ...obj, [name]: w }));
        const strSchema = sub.type === 'string' ? sub : (sub.anyOf ?? []).find((x) => x.type === 'string');
        if (strSchema) {
          for (const v of stringViolations(strSchema)) {
            const body = set({ ...obj, [name]: v });
            if (bodyValid(schema, body)) continue;
            add({ label: `${field}: ${show(v)}`, reason: 'violates the body schema', url: url(), payload: JSON.stringify(body), headers: jsonHeaders(), probe: v });
          }
        }
        if (sub.type === 'integer' || sub.type === 'number') {
          for (const v of numberViolations(sub)) sendBody(`${field}: ${v}`, set({ ...obj, [name]: v }));
          // Numbers JSON.parse turns into Infinity or that no schema can hold.
          const text = JSON.stringify(set({ ...obj, [name]: 1 }));
          for (const raw of ['1e400', '-1e400', '1' + '0'.repeat(400), '0.' + '0'.repeat(400) + '1']) {
            const replaced = text.replace(`"${name}":1`, `"${name}":${raw}`);
            // 0.000…1 parses to 0, which a schema with `minimum: 0` holds: then the variant is valid, not hostile.
            if (replaced !== text && !bodyValid(schema, JSON.parse(replaced))) add({ label: `${field}: ${raw.slice(0, 12)}… (raw JSON number)`, reason: 'violates the body schema', url: url(), payload: replaced, headers: jsonHeaders() });
          }
        }
        if (sub.type === 'array') {
          const item = sub.items ? validValue(sub.items) : 'x';
          if (sub.maxItems !== undefined) sendBody(`${field}: ${sub.maxItems + 1} items`, set({ ...obj, [name]: Array(sub.maxItems + 1).fill(item) }));
          if (sub.items) {
            for (const w of wrongTypes(sub.items)) sendBody(`${field}[0]: wrong type ${JSON.stringify(w)}`, set({ ...obj, [name]: [w] }));
            if (sub.items.type === 'string') for (const v of stringViolations(sub.items)) sendBody(`${field}[0]: ${show(v)}`, set({ ...obj, [name]: [v] }));
          }
          sendBody(`${field}: nested arrays`, set({ ...obj, [name]: [[[item]]] }));
        }
        if (sub.type === 'object' || sub.properties || sub.additionalProperties !== undefined) {
          const inner = (obj[name] as Record<string, unknown> | undefined) ?? (validValue(sub) as Record<string, unknown>);
          fieldMutations(`${field}.`, inner, sub, (o) => set({ ...obj, [name]: o }));
          if (typeof sub.additionalProperties === 'object') {
            const vs = sub.additionalProperties;
            for (const w of wrongTypes(vs)) sendBody(`${field}.*: wrong type ${JSON.stringify(w)}`, set({ ...obj, [name]: { ...inner, extra: w } }));
            const strBranch = (vs.anyOf ?? [vs]).find((x) => x.type === 'string');
            if (strBranch?.maxLength) sendBody(`${field}.*: ${strBranch.maxLength + 1} characters`, set({ ...obj, [name]: { ...inner, extra: 'x'.repeat(strBranch.maxLength + 1) } }));
          }
          if (sub.maxProperties !== undefined) {
            const many = Object.fromEntries(Array.from({ length: sub.maxProperties + 1 }, (_, i) => [`k${i}`, 'v']));
            sendBody(`${field}: ${sub.maxProperties + 1} properties`, set({ ...obj, [name]: many }));
          }
          if (sub.additionalProperties === false) {
            for (const extra of ['role', 'isAdmin', 'constructor']) sendBody(`${field}.${extra}: unknown field`, set({ ...obj, [name]: { ...inner, [extra]: true } }));
          }
        }
      }
      if (s.additionalProperties === false) {
        for (const extra of ['role', 'instructorId', 'authorId', 'id', 'emailVerified', 'isAdmin', 'userId', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '']) {
          if (extra in props) continue;
          sendBody(`${prefix}${extra || '(empty name)'}: unknown field`, set({ ...obj, [extra]: extra === 'role' ? 'admin' : 'x' }));
        }
        if (s.minProperties && prefix) sendBody(`${prefix.slice(0, -1)}: empty object`, set({}));
      }
    };
    fieldMutations('body.', b, schema, (o) => o);
    if (schema.minProperties) sendBody('body: empty object', {});

    // Prototype pollution attempts: the JSON parser must refuse them, or the schema must.
    for (const member of ['"__proto__":{"role":"admin","isAdmin":true}', '"constructor":{"prototype":{"role":"admin"}}', '"__proto__":null']) {
      add({ label: `body: ${member.slice(0, 30)}`, reason: 'prototype pollution attempt', url: url(), payload: withRawMember(b, member), headers: jsonHeaders() });
    }
    // The whole body of a wrong type.
    for (const w of [[], [b], 'text', 42, true, null, 0]) {
      if (bodyValid(schema, w)) continue;
      add({ label: `body: top-level ${JSON.stringify(w).slice(0, 20)}`, reason: 'violates the body schema', url: url(), payload: JSON.stringify(w), headers: jsonHeaders() });
    }
    // Duplicate keys: the last one wins in JSON.parse; make the last one wrong.
    const firstKey = Object.keys(b)[0];
    if (firstKey) {
      const text = JSON.stringify(b);
      add({ label: `body: duplicate key ${firstKey} (last one invalid)`, reason: 'violates the body schema', url: url(), payload: `${text.slice(0, -1)},"${firstKey}":{"$ne":null}}`, headers: jsonHeaders() });
    }
    // Malformed JSON.
    if (jsonOk) {
      for (const text of MALFORMED_JSON) add({ label: `malformed JSON ${JSON.stringify(text).slice(0, 24)}`, reason: 'not JSON', url: url(), payload: text, headers: jsonHeaders(), expect: [400] });
      add({ label: 'malformed JSON: deep nesting', reason: 'not an object', url: url(), payload: '['.repeat(20000) + ']'.repeat(20000), headers: jsonHeaders(), expect: [400] });
      add({ label: 'empty body declared as JSON', reason: 'no body', url: url(), payload: '', headers: jsonHeaders(), expect: [400] });
      add({ label: 'JSON body in UTF-16', reason: 'not UTF-8 JSON', url: url(), payload: Buffer.from(`\uFEFF${bodyText}`, 'utf16le'), headers: jsonHeaders(), expect: [400, 415] });
    }
    // Content types the operation does not take: a schema-valid body, so only the type is wrong.
    const types: [string, string | Buffer][] = [
      ['text/plain', bodyText!],
      ['application/xml', `<body>${Object.keys(b).map((k) => `<${k}>x</${k}>`).join('')}</body>`],
      ['text/xml', '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'],
      ['multipart/form-data; boundary=XyZ', `--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--XyZ--\r\n`],
      ['application/octet-stream', Buffer.from(bodyText!)],
      ['application/json-patch+json', JSON.stringify([{ op: 'replace', path: '/role', value: 'admin' }])],
      ['application/merge-patch+json', bodyText!],
      ['text/html', '<html></html>'],
      ['image/png', Buffer.from([0x89, 0x50, 0x4e, 0x47])],
    ];
    if (!op.body.contentTypes.includes('application/x-www-form-urlencoded')) {
      types.push(['application/x-www-form-urlencoded', new URLSearchParams(Object.entries(b).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)])).toString()]);
    } else {
      // The operation takes forms: a form that breaks the schema (every value is text; unknown field).
      add({ label: 'form body with an unknown field', reason: 'violates the body schema', url: url(), payload: new URLSearchParams({ ...Object.fromEntries(Object.entries(b).map(([k, v]) => [k, String(v)])), role: 'admin' }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' }, expect: [400] });
      add({ label: 'form body over the limit', reason: 'body too large', url: url(), payload: `a=${'x'.repeat(options.bodyLimit + 16)}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, expect: [413] });
      // An OAuth token endpoint: client_secret_basic credentials that do not decode, the body without a secret.
      const { client_secret: _secret, ...withoutSecret } = b;
      for (const credentials of BAD_BASIC_CREDENTIALS) {
        add({ label: `basic credentials ${show(credentials)}`, reason: 'Basic credentials that do not decode', url: url(), payload: JSON.stringify(withoutSecret), headers: jsonHeaders(), auth: { header: `Basic ${Buffer.from(credentials).toString('base64')}` }, expect: [400, 401] });
      }
    }
    for (const [type, payload] of types) {
      if (op.body.contentTypes.includes(type.split(';')[0]!)) continue;
      add({ label: `content type ${type}`, reason: 'the operation does not take this type', url: url(), payload, headers: { 'content-type': type }, expect: [415] });
    }
    add({ label: 'body without a content type', reason: 'no content type', url: url(), payload: bodyText!, headers: {}, expect: [400, 415] });

    // Over the body limit: a schema-shaped body padded past http.bodyLimit, and a 100 kB string.
    const firstString = Object.entries(schema.properties ?? {}).find(([, s]) => s.type === 'string' || s.anyOf?.some((x) => x.type === 'string'))?.[0];
    if (firstString) {
      add({ label: `body over the limit (${firstString} of ${options.bodyLimit + 1} bytes)`, reason: 'body too large', url: url(), payload: JSON.stringify({ ...b, [firstString]: 'x'.repeat(options.bodyLimit + 1) }), headers: jsonHeaders(), expect: [413] });
      for (const name of Object.keys(schema.properties ?? {})) {
        add({ label: `body.${name}: a 100 kB string`, reason: 'body too large', url: url(), payload: JSON.stringify({ ...b, [name]: 'é'.repeat(LONG / 2) }), headers: jsonHeaders(), expect: [413] });
      }
    }
    add({ label: 'body of 1 MB of whitespace', reason: 'body too large', url: url(), payload: ' '.repeat(1024 * 1024), headers: jsonHeaders(), expect: [413] });

    // fast-check: random JSON in one field (or as the whole body); kept when the schema refuses it.
    if (options.runs) {
      const arb = fc.tuple(fc.constantFrom('', ...Object.keys(schema.properties ?? {})), fc.jsonValue({ maxDepth: 3 }));
      for (const [field, value] of fc.sample(arb, { seed: options.seed ?? 1, numRuns: options.runs })) {
        const body = field ? { ...b, [field]: value } : value;
        if (bodyValid(schema, body)) continue;
        add({ label: `fast-check body${field ? `.${field}` : ''} = ${show(value)}`, reason: 'violates the body schema', url: url(), payload: JSON.stringify(body), headers: jsonHeaders(), probe: typeof value === 'string' ? value : undefined });
      }
    }
  }

  // --- path parameters ------------------------------------------------------------------------------
  for (const p of op.parameters.filter((x) => x.in === 'path')) {
    const values = [...BAD_IDS, ...INJECTIONS.slice(0, 6), ...ghosts];
    for (const v of values) {
      const path = { ...base.path, [p.name]: v };
      const valid = paramsValid(op, 'path', path);
      add({ label: `path ${p.name} = ${show(v)}`, reason: valid ? 'names nothing' : 'violates the path schema', url: url(base.query, path), ...withBody, probe: v });
    }
    // fast-check text: refused by the schema, or it names nothing.
    for (const v of options.runs ? fc.sample(hostileStrings(300), { seed: (options.seed ?? 1) + 1, numRuns: options.runs }) : []) {
      if (!asStored(v) || asStored(v) === '.' || asStored(v) === '..') continue;
      const path = { ...base.path, [p.name]: v };
      add({ label: `fast-check path ${p.name} = ${show(v)}`, reason: paramsValid(op, 'path', path) ? 'names nothing' : 'violates the path schema', url: url(base.query, path), ...withBody, probe: v });
    }
    // Raw (not percent-encoded) and oddly encoded segments.
    for (const raw of ['%', '%zz', '%FF%FE', '%C0%AF', '..%2F..%2Fetc%2Fpasswd', '%2e%2e', '%00', 'a%20b', "'%20OR%201=1--", '%E2%80%AE', '%F0%9F%98%80']) {
      add({ label: `path ${p.name} raw ${raw}`, reason: 'bad path parameter', url: url(base.query, base.path, { path: { [p.name]: raw } }), ...withBody, probe: decodeSafe(raw) });
    }
  }

  // --- query parameters -----------------------------------------------------------------------------
  const queryParams = op.parameters.filter((x) => x.in === 'query');
  const isGet = op.method === 'GET';
  const setQuery = (name: string, values: string[]): [string, string][] => [...base.query.filter(([k]) => k !== name), ...values.map((v) => [name, v] as [string, string])];
  for (const p of queryParams) {
    const s = p.schema;
    const candidates: string[] = ['', ' ', 'x'.repeat(LONG), ...INJECTIONS.slice(0, 8), ...ODD_UNICODE.slice(0, 8), '[object Object]', 'undefined'];
    if (s.type === 'integer' || s.type === 'number') candidates.push('0', '-1', '101', '1e9', '-1e9', 'abc', '1.5', 'NaN', 'Infinity', '-Infinity', '0x10', '1e400', '99999999999999999999', '--1', '+-1', '1 OR 1=1', '5.1', '6');
    if (s.maxLength !== undefined) candidates.push('x'.repeat(s.maxLength + 1));
    if (s.enum) candidates.push('bogus', 'NEWEST', ...s.enum.map((e) => `${String(e)} `), 'id; DROP TABLE courses', 'created_at DESC', '-rating');
    if (s.format === 'uuid') candidates.push(...BAD_IDS);
    if (s.pattern) candidates.push('EN', 'eng', 'e', 'e1');
    for (const v of candidates) {
      const query = setQuery(p.name, [v]);
      if (paramsValid(op, 'query', queryObject(query))) continue; // allowed text: a content probe, not a refusal
      add({ label: `query ${p.name} = ${show(v)}`, reason: 'violates the query schema', url: url(query), ...withBody, probe: v });
    }
    // Repeated scalars: `limit=1&limit=2`, `category=a&category=b`.
    const ok = base.query.find(([k]) => k === p.name)?.[1] ?? String(validValue(s));
    const repeated = setQuery(p.name, [ok, ok === '1' ? '2' : ok]);
    if (!paramsValid(op, 'query', queryObject(repeated))) add({ label: `query ${p.name} repeated`, reason: 'an array where a scalar goes', url: url(repeated), ...withBody });
    add({ label: `query ${p.name}[]=`, reason: 'bracket array syntax', url: url(base.query.filter(([k]) => k !== p.name), base.path, { query: `${p.name}[]=${encode(ok)}&${p.name}[]=x` }), ...withBody, mayBeIgnored: isGet });
    add({ label: `query ${p.name}[k]=`, reason: 'bracket object syntax', url: url(base.query.filter(([k]) => k !== p.name), base.path, { query: `${p.name}[$gt]=${encode(ok)}` }), ...withBody, mayBeIgnored: isGet });
    for (const raw of ['%FF%FE', '%C0%AF', '%', '%zz', '%00']) {
      const raws = `${p.name}=${raw}`;
      add({ label: `query ${p.name} raw ${raw}`, reason: 'badly encoded query value', url: url(base.query.filter(([k]) => k !== p.name), base.path, { query: raws }), ...withBody, mayBeIgnored: isGet && !p.schema.format && !p.schema.pattern && !p.schema.enum && p.schema.type === 'string', probe: decodeSafe(raw) });
    }
    if (p.required && s.default === undefined) {
      add({ label: `query ${p.name}: missing`, reason: 'a required parameter is missing', url: url(base.query.filter(([k]) => k !== p.name)), ...withBody });
    }
    // fast-check text and numbers, kept when the schema refuses them.
    if (options.runs) {
      const arb = fc.oneof(hostileStrings(300), fc.integer().map(String), fc.double().map(String), fc.string({ unit: 'grapheme-ascii', maxLength: 8 }));
      for (const v of fc.sample(arb, { seed: (options.seed ?? 1) + 2 + p.name.length, numRuns: Math.ceil(options.runs / 2) })) {
        const query = setQuery(p.name, [v]);
        if (paramsValid(op, 'query', queryObject(query))) continue;
        add({ label: `fast-check query ${p.name} = ${show(v)}`, reason: 'violates the query schema', url: url(query), ...withBody, probe: v });
      }
    }
    if (p.name === 'cursor') {
      for (const c of cursorVariants(options.cursors ?? [], s)) {
        add({ label: `cursor ${c.label}`, reason: 'not a cursor this list issued', url: url(setQuery('cursor', [c.value])), ...withBody, expect: [400], probe: c.value });
      }
    }
  }
  // Unknown query parameters: refused where the query schema forbids them; a GET may ignore them
  // (DESIGN 4 rejects unknown fields in writes; it says nothing of queries).
  if (isGet || queryParams.length > 0) {
    for (const [k, v] of [['role', 'admin'], ['instructorId', randomUUID()], ['__proto__', 'x'], ['constructor', 'x'], ['__proto__[role]', 'admin'], ['debug', 'true'], ['offset', '1000']] as [string, string][]) {
      if (queryParams.some((p) => p.name === k)) continue;
      add({ label: `query unknown ${k}`, reason: 'unknown query parameter', url: url([...base.query, [k, v]]), ...withBody, mayBeIgnored: isGet });
    }
    // A query string of 100 kB (an unknown name; what matters is that nothing breaks).
    add({ label: 'query string of 100 kB', reason: 'huge query string', url: url([...base.query, ['zz', 'y'.repeat(LONG)]]), ...withBody, mayBeIgnored: isGet });
  }

  // --- header parameters (If-Match) -----------------------------------------------------------------
  for (const p of op.parameters.filter((x) => x.in === 'header')) {
    if (p.schema.maxLength !== undefined) add({ label: `header ${p.name} of ${p.schema.maxLength + 1} characters`, reason: 'violates the header schema', url: url(), ...withBody, headers: { ...withBody.headers, [p.name]: '"'.padEnd(p.schema.maxLength + 1, 'x') } });
    if (p.name.toLowerCase() === 'if-match') {
      for (const tag of ['"stale"', 'W/"weak"', '"' + "' OR 1=1 --" + '"', 'garbage', '""', '"a", "b"']) {
        add({ label: `header if-match ${tag}`, reason: 'the tag does not match', url: url(), ...withBody, headers: { ...withBody.headers, 'if-match': tag }, expect: [400, 412] });
      }
    }
  }

  // --- security -------------------------------------------------------------------------------------
  if (op.secured || op.optionalAuth) {
    if (op.secured) add({ label: 'no token', reason: 'a token is required', url: url(), ...withBody, auth: 'none', expect: [401], headers: { ...withBody.headers, 'x-request-id': '<script>alert(1)</script>' } });
    for (const f of forgeTokens(options.token)) {
      add({ label: `token: ${f.label}`, reason: 'not a valid token', url: url(), ...withBody, auth: { header: f.header }, expect: [401] });
    }
    if (op.secured && op.body) {
      // Bad token and bad body at once: either refusal is fine, never a 2xx.
      add({ label: 'no token, unknown field role', reason: 'no token and a forbidden field', url: url(), payload: JSON.stringify({ ...base.body, role: 'admin' }), headers: jsonHeaders(), auth: 'none' });
    }
    if (!op.body && op.method !== 'GET') {
      // A body on an operation that takes none, without a token: refused for the token.
      add({ label: 'no token, stray body', reason: 'a token is required', url: url(), payload: '{"role":"admin"}', headers: jsonHeaders(), auth: 'none', expect: [401] });
    }
  }
  // The same hostile requests without a token: authentication runs first (an onRequest hook, before
  // the body is read), so each is a 401 whatever else is wrong with it; only a hostile path parameter
  // may keep the request from reaching the route at all (over the router's length limit: 400; `..`
  // normalised into another path: 404), and then no authentication runs.
  if (op.secured && options.alsoWithoutToken) {
    for (const v of out.filter((x) => x.auth === 'token')) {
      const hostilePath = /^(fast-check )?path /.test(v.label);
      out.push({ ...v, label: `${v.label} (no token)`, auth: 'none', expect: hostilePath ? [400, 401, 404] : [401] });
    }
  }
  return out;
}

function decodeSafe(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

export function show(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  if (s.length > 40) return `${JSON.stringify(s.slice(0, 12))}… (${s.length} chars)`;
  return JSON.stringify(s);
}

/** Cursors that are garbage, or well-formed base64url JSON of the wrong shape, or tampered real ones. */
export function cursorVariants(real: string[], schema: JsonSchema): { label: string; value: string }[] {
  const b64 = (o: unknown) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');
  const max = schema.maxLength ?? 512;
  const out: { label: string; value: string }[] = [
    { label: 'garbage', value: 'garbage!!' },
    { label: 'not base64', value: '@@@@' },
    { label: 'base64 of text', value: b64('hello world') },
    { label: 'base64 of null', value: b64('null') },
    { label: 'base64 of a number', value: b64('42') },
    { label: 'base64 of an array', value: b64([1, 2, 3]) },
    { label: 'base64 of {}', value: b64({}) },
    { label: 'base64 of a wrong shape', value: b64({ id: "' OR 1=1 --", after: '1970-01-01' }) },
    { label: '{s,k} of wrong kinds', value: b64({ s: 'newest', k: [{}, []] }) },
    { label: '{s,k} with injection', value: b64({ s: 'newest', k: ["2020-01-01T00:00:00.000Z'; DROP TABLE courses; --", randomUUID()] }) },
    { label: '{k,v} with injection', value: b64({ k: 'users', v: { id: "' OR 1=1 --", createdAt: 'x' } }) },
    { label: '{k,v} with v null', value: b64({ k: 'users', v: null }) },
    { label: '__proto__ cursor', value: b64('{"__proto__":{"isAdmin":true},"s":"newest","k":[]}') },
    { label: 'long valid-alphabet garbage', value: 'A'.repeat(Math.min(max, 1000)) },
    { label: 'longer than allowed', value: 'A'.repeat(max + 1) },
    { label: 'very long', value: 'A'.repeat(20000) },
    { label: 'padded base64', value: `${b64({ s: 'newest', k: [] })}==` },
  ];
  for (const [i, cursor] of real.entries()) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    } catch {
      continue;
    }
    const leaves = tamperLeaves(parsed);
    for (const [j, t] of leaves.entries()) out.push({ label: `real #${i} tampered ${j} (${t.label})`, value: b64(t.value) });
    out.push({ label: `real #${i} truncated`, value: cursor.slice(0, Math.floor(cursor.length / 2)) });
    out.push({ label: `real #${i} with a character changed`, value: cursor.slice(0, -3) + (cursor.at(-3) === 'A' ? 'B' : 'A') + cursor.slice(-2) });
  }
  return out.filter((c) => c.value.length > 0);
}

/** Copies of a decoded cursor with one leaf replaced by something hostile. */
function tamperLeaves(value: unknown): { label: string; value: unknown }[] {
  const hostile: unknown[] = ["' OR 1=1 --", '9999-99-99T99:99:99.999Z', -1, 1e308, null, {}, [], 'x'.repeat(2000), '\u0000', true, '00000000-0000-0000-0000-000000000000\'', 'NaN', '1e400'];
  const out: { label: string; value: unknown }[] = [];
  const walk = (node: unknown, replace: (v: unknown) => unknown, where: string) => {
    if (Array.isArray(node)) {
      node.forEach((item, i) => walk(item, (v) => replace(node.map((x, j) => (j === i ? v : x))), `${where}[${i}]`));
      out.push({ label: `${where} with an extra item`, value: replace([...node, 'extra']) });
      out.push({ label: `${where} emptied`, value: replace([]) });
    } else if (node && typeof node === 'object') {
      for (const key of Object.keys(node)) walk((node as Record<string, unknown>)[key], (v) => replace({ ...(node as object), [key]: v }), `${where}.${key}`);
    } else {
      for (const h of hostile) out.push({ label: `${where}=${show(h)}`, value: replace(h) });
      if (typeof node === 'string') out.push({ label: `${where} other value`, value: replace(`${node}x`) });
    }
  };
  walk(value, (v) => v, '$');
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Content probes: hostile text where the schema allows it

/** fast-check strings: full Unicode, lone surrogates, SQL/HTML/tsquery metacharacters, the fixed lists. */
export function hostileStrings(maxLength: number): fc.Arbitrary<string> {
  const meta = fc.constantFrom(...`'"\\%_;:*!&|()<>-$\`{}[]#/\u0000\uD800\uDC00\u202E\u200B\uFEFF\r\n\t`.split(''));
  const lone = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
  return fc
    .oneof(
      fc.string({ unit: 'binary', maxLength: Math.min(maxLength, 60) }),
      fc.string({ unit: 'grapheme', maxLength: Math.min(maxLength, 30) }),
      fc.string({ unit: fc.oneof(meta, lone, fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 })), maxLength: Math.min(maxLength, 40) }),
      fc.constantFrom(...INJECTIONS, ...ODD_UNICODE),
      fc.tuple(fc.constantFrom(...INJECTIONS), fc.constantFrom(...ODD_UNICODE)).map(([a, b]) => a + b),
    )
    .map((s) => (s.length > maxLength ? s.slice(0, maxLength) : s));
}

export interface ContentOptions {
  seed: number;
  /** fast-check samples per operation (on top of the fixed lists). */
  runs: number;
}

/** Free-text slots of a body schema: paths to strings without a format or enum. */
function textSlots(schema: JsonSchema, prefix: string[] = []): { path: string[]; schema: JsonSchema; array: boolean }[] {
  const out: { path: string[]; schema: JsonSchema; array: boolean }[] = [];
  for (const [name, sub] of Object.entries(schema.properties ?? {})) {
    const str = sub.type === 'string' ? sub : (sub.anyOf ?? []).find((x) => x.type === 'string');
    // Patterns stay in: a value the pattern refuses is skipped when the variant is built.
    if (str && !str.format && !str.enum) out.push({ path: [...prefix, name], schema: str, array: false });
    if (sub.type === 'array' && sub.items?.type === 'string' && !sub.items.format && !sub.items.enum) out.push({ path: [...prefix, name], schema: sub.items, array: true });
    if (sub.properties) out.push(...textSlots(sub, [...prefix, name]));
  }
  return out;
}

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const [head, ...rest] = path as [string, ...string[]];
  if (!rest.length) return { ...obj, [head]: value };
  return { ...obj, [head]: setPath((obj[head] as Record<string, unknown> | undefined) ?? {}, rest, value) };
}

/** Every fixed hostile string, and `runs` fast-check strings, in each free-text slot the schema allows. */
export function contentVariants(op: Operation, base: BaseRequest, options: ContentOptions): Variant[] {
  const out: Variant[] = [];
  const auth: Auth = op.secured || op.optionalAuth ? 'token' : 'none';
  const fixed = [...INJECTIONS, ...ODD_UNICODE];
  type Slot = { where: 'body' | 'query' | 'path'; name: string; path: string[]; schema: JsonSchema; array: boolean };
  const slots: Slot[] = [];
  if (op.body && base.body) {
    for (const s of textSlots(op.body.schema)) slots.push({ where: 'body', name: s.path.join('.'), ...s });
    // Maps of free text (`data: {key: string | ...}`): the keys the base body has.
    for (const [name, sub] of Object.entries(op.body.schema.properties ?? {})) {
      const extra = typeof sub.additionalProperties === 'object' ? sub.additionalProperties : undefined;
      const str = extra && (extra.type === 'string' ? extra : (extra.anyOf ?? []).find((x) => x.type === 'string'));
      const given = base.body[name];
      if (!str || !given || typeof given !== 'object') continue;
      for (const [key, value] of Object.entries(given)) if (typeof value === 'string') slots.push({ where: 'body', name: `${name}.${key}`, path: [name, key], schema: str, array: false });
    }
  }
  for (const p of op.parameters) {
    if ((p.in === 'query' || p.in === 'path') && p.schema.type === 'string' && !p.schema.format && !p.schema.enum && p.name !== 'cursor') {
      slots.push({ where: p.in, name: p.name, path: [p.name], schema: p.schema, array: false });
    }
  }
  if (!slots.length) return out;
  const samples = fc.sample(fc.tuple(fc.nat({ max: slots.length - 1 }), hostileStrings(200)), { seed: options.seed, numRuns: options.runs });
  const plan: [Slot, string][] = [...slots.flatMap((s) => (s.where === 'body' ? [...fixed, ...TOKEN_SHAPES] : fixed).map((v) => [s, v] as [Slot, string])), ...samples.map(([i, v]) => [slots[i]!, v] as [Slot, string])];
  for (const [slot, raw] of plan) {
    const max = slot.schema.maxLength ?? 200;
    const v = raw.length > max ? raw.slice(0, max) : raw;
    const value = slot.array ? [v] : v;
    let body = base.body;
    let query = base.query;
    let path = base.path;
    if (slot.where === 'body') {
      body = setPath(base.body!, slot.path, value);
      if (!bodyValid(op.body!.schema, body)) continue;
    } else if (slot.where === 'query') {
      query = [...base.query.filter(([k]) => k !== slot.name), [slot.name, v]];
      if (!paramsValid(op, 'query', queryObject(query))) continue;
    } else {
      path = { ...base.path, [slot.name]: v };
      if (!v || !paramsValid(op, 'path', path)) continue;
    }
    out.push({
      kind: 'content',
      op,
      label: `${slot.where} ${slot.name} = ${show(v)}`,
      reason: 'hostile text the schema allows',
      method: op.method,
      url: buildUrl(op, path, query),
      headers: { ...(base.headers ?? {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
      auth,
      probe: v,
      ...(slot.where === 'body' && slot.path.length === 1 ? { field: slot.path[0], value } : {}),
    });
  }
  return out;
}

/** What PostgreSQL can store of a JS string: lone surrogates become U+FFFD on the way to UTF-8. */
export function asStored(value: string): string {
  return Buffer.from(value, 'utf8').toString('utf8');
}

// ---------------------------------------------------------------------------------------------------
// Sending and judging

export interface Injector {
  inject(options: InjectOptions): Promise<{ statusCode: number; headers: Record<string, string | string[] | number | undefined>; body: string }>;
}

export interface Outcome {
  variant: Variant;
  status: number;
  type: string;
  text: string;
  /** Everything wrong with the answer (empty when it is fine). */
  problems: string[];
  /** A refused-kind variant that was answered 2xx under the "a GET may ignore it" rule. */
  ignored: boolean;
}

/** Text that must never reach a client: stack frames, module paths, SQL, driver messages. */
const LEAKS: [RegExp, string][] = [
  [/\n\s+at |\bat [\w.<>]+ \(|\bat (?:file:|node:|\/)/, 'a stack frame'],
  // Source folders are internal/<service or shared>/...; `/internal/v1/` is course-service's service API, whose paths a 404 names.
  [/node_modules|\/internal\/(?:auth-service|course-service|shared)\/|\.ts:\d+|\.js:\d+/, 'a source path'],
  [/\bSELECT\s|\bINSERT\s+INTO\b|\bUPDATE\s+\w+\s+SET\b|\bDELETE\s+FROM\b/, 'SQL text'],
  [/syntax error|relation "|column "|violates .* constraint|invalid input syntax|duplicate key value|SQLSTATE|ECONNREFUSED|invalid byte sequence/i, 'a database message'],
  [/TypeError|ReferenceError|RangeError|SyntaxError: |Cannot read propert|undefined is not|is not a function/, 'a JavaScript error'],
];

const SNAKE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

function escapedForms(probe: string): string[] {
  const json = JSON.stringify(probe).slice(1, -1);
  return [probe, json, asStored(probe), JSON.stringify(asStored(probe)).slice(1, -1), encode(probe)].filter((s) => s.length > 0);
}

export async function send(app: Injector, checker: ResponseChecker, v: Variant, token: (v: Variant) => string | undefined): Promise<Outcome> {
  const headers: Record<string, string> = { ...v.headers };
  if (v.auth === 'token') {
    const t = token(v);
    if (t) headers.authorization = `Bearer ${t}`;
  } else if (typeof v.auth === 'object') headers.authorization = v.auth.header;
  const res = await app.inject({ method: v.method as 'GET', url: v.url, headers, ...(v.payload !== undefined ? { payload: v.payload } : {}) });
  const status = res.statusCode;
  const type = String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
  const text = res.body;
  const problems: string[] = [];
  let ignored = false;

  if (status >= 500) problems.push(`answered ${status}`);
  try {
    checker.check(v.method, v.url, res as InjectedResponse);
  } catch (err) {
    problems.push(`not as documented: ${(err as Error).message.split('\n')[0]}`);
  }
  if (v.kind === 'refused' && status < 400) {
    if (v.mayBeIgnored && v.method === 'GET' && status < 300) ignored = true;
    else problems.push(`accepted (${status}) though ${v.reason}`);
  }
  if (v.expect && status < 500 && !v.expect.includes(status) && !(ignored && status < 300)) problems.push(`expected ${v.expect.join(' or ')}, got ${status}`);
  if (status >= 400) {
    if (type !== 'application/problem+json') problems.push(`a ${status} sent as ${type || 'no type'}`);
    let body: Record<string, unknown> | undefined;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      problems.push(`a ${status} whose body is not JSON`);
    }
    if (body) {
      if (body.status !== status) problems.push(`problem status ${String(body.status)} differs from HTTP ${status}`);
      if (typeof body.code !== 'string' || !SNAKE.test(body.code)) problems.push(`problem code ${JSON.stringify(body.code)} is not snake_case`);
      if (typeof body.requestId !== 'string' || !body.requestId) problems.push('problem without requestId');
      else if (/[<>"']/.test(body.requestId)) problems.push(`requestId echoes hostile text: ${body.requestId}`);
    }
  }
  let scanned = text;
  if (v.probe) for (const form of [...escapedForms(v.probe), ...escapedForms(v.probe.trim().toLowerCase())]) scanned = scanned.split(form).join('');
  for (const [re, what] of LEAKS) if (re.test(scanned)) problems.push(`leaks ${what}: ${scanned.match(re)?.[0]}`);
  if (type === 'text/html' && v.probe && /[<>"]/.test(v.probe) && text.includes(v.probe)) problems.push('reflects the hostile text into HTML unescaped');

  // Content probes accepted: when the answer shows the field, what was sent comes back somewhere in it,
  // as PostgreSQL holds it (lone surrogates as U+FFFD), trimmed or lower-cased at most; blank text may
  // come back as nothing.
  if (v.kind === 'content' && status >= 200 && status < 300 && v.field && type.includes('json')) {
    const strings = new Set<string>();
    let named = false; // only answers that show the field (under its name, at any depth) are compared
    const stack: unknown[] = [JSON.parse(text)];
    while (stack.length) {
      const node = stack.pop();
      if (typeof node === 'string') strings.add(node);
      else if (node && typeof node === 'object') {
        if (!Array.isArray(node) && v.field in node) named = true;
        stack.push(...Object.values(node));
      }
    }
    const sentValues = (Array.isArray(v.value) ? v.value : [v.value]).filter((x): x is string => typeof x === 'string');
    for (const x of sentValues) {
      const stored = asStored(x);
      if (!named || !stored.trim()) continue;
      if (![stored, stored.trim(), stored.trim().toLowerCase()].some((form) => strings.has(form))) {
        problems.push(`the answer does not hold the ${v.field} sent (${JSON.stringify(stored).slice(0, 60)})`);
      }
    }
  }
  return { variant: v, status, type, text, problems, ignored };
}

/** Sends variants a few at a time (the services run on a pool; 2 cores). */
export async function sendAll(app: Injector, checker: ResponseChecker, variants: Variant[], token: (v: Variant) => string | undefined, concurrency = 8): Promise<Outcome[]> {
  const out: Outcome[] = new Array(variants.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < variants.length) {
        const i = next++;
        out[i] = await send(app, checker, variants[i]!, token);
      }
    }),
  );
  return out;
}

export function report(outcomes: Outcome[]): string[] {
  return outcomes
    .filter((o) => o.problems.length)
    .map((o) => `${o.variant.method} ${o.variant.op.path} [${o.variant.label}] -> ${o.status}: ${o.problems.join('; ')} | ${o.text.slice(0, 160).replace(/\s+/g, ' ')}`);
}

/** HOSTILE_DUMP=<file> appends every finding (every answer with HOSTILE_DUMP_ALL=1) as a JSON line, for triage. */
export function dump(service: string, outcomes: Outcome[]): void {
  const file = process.env.HOSTILE_DUMP;
  if (!file) return;
  for (const o of outcomes.filter((x) => x.problems.length || process.env.HOSTILE_DUMP_ALL)) {
    const v = o.variant;
    appendFileSync(file, `${JSON.stringify({ service, kind: v.kind, method: v.method, path: v.op.path, label: v.label, url: v.url.slice(0, 300), status: o.status, problems: o.problems, body: o.text.slice(0, 300) })}\n`);
  }
}

/** HOSTILE_VERBOSE=1 lists the GET answers that ignored a parameter (allowed by the suite's rule). */
export function logIgnored(service: string, outcomes: Outcome[]): void {
  const ignored = outcomes.filter((o) => o.ignored).map((o) => `${o.variant.method} ${o.variant.op.path} [${o.variant.label}]`);
  if (ignored.length && process.env.HOSTILE_VERBOSE) console.error(`${service}: GET answers that ignored a parameter (allowed):\n${ignored.join('\n')}`);
}

// ---------------------------------------------------------------------------------------------------
// Database fingerprints

/** Row count and an md5 of every row of every table (tests' databases are small), keyed by table. */
export async function fingerprint(db: Database, skip: string[] = ['schema_migrations']): Promise<Record<string, string>> {
  const tables = await db.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  const out: Record<string, string> = {};
  for (const { table_name: table } of tables.rows) {
    if (skip.includes(table)) continue;
    const r = await db.query<{ n: number; h: string | null }>(`SELECT count(*)::int AS n, md5(string_agg(t::text, '|' ORDER BY t::text)) AS h FROM "${table.replaceAll('"', '""')}" t`);
    out[table] = `${r.rows[0]!.n}:${r.rows[0]!.h ?? ''}`;
  }
  return out;
}
