/**
 * Checks answers against the OpenAPI document the app serves: the status must be documented for the
 * route, the content type must be one the document names, and a JSON body must match its schema.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { ValidateFunction } from 'ajv';
import { expect } from 'vitest';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

interface OpenApiDoc {
  paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> }>>;
}

export interface InjectedResponse {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

export class ResponseChecker {
  private readonly ajv: Ajv2020;
  private readonly routes: { method: string; pattern: RegExp; path: string }[] = [];
  private readonly cache = new Map<string, ValidateFunction>();
  checked = 0;

  constructor(private readonly doc: OpenApiDoc) {
    this.ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
    addFormats(this.ajv);
    this.ajv.addSchema(doc as object, 'openapi');
    for (const [path, ops] of Object.entries(doc.paths)) {
      const pattern = new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\\{[^}]+\\\}/g, '[^/]+')}$`);
      for (const method of Object.keys(ops)) this.routes.push({ method: method.toUpperCase(), pattern, path });
    }
  }

  /** Throws (a test failure) when the answer is not what the document says. */
  check(method: string, url: string, res: InjectedResponse): void {
    const pathname = new URL(url, 'http://x').pathname;
    const route = this.routes.find((r) => r.method === method.toUpperCase() && r.pattern.test(pathname));
    if (!route) {
      // Unknown routes must answer 404 problem+json.
      expect(res.statusCode, `${method} ${pathname} is not in the document`).toBe(404);
      return;
    }
    const op = this.doc.paths[route.path]![method.toLowerCase()]!;
    const response = op.responses?.[String(res.statusCode)];
    expect(response, `${method} ${route.path} answered ${res.statusCode}, which the document does not list (${res.body.slice(0, 200)})`).toBeDefined();
    if (res.statusCode === 204 || res.statusCode === 304 || !res.body) return;
    const type = String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
    const content = response!.content ?? {};
    expect(Object.keys(content), `${method} ${route.path} ${res.statusCode} sent ${type}`).toContain(type);
    if (!type.includes('json')) return;
    const pointer = `openapi#/paths/${route.path.replaceAll('~', '~0').replaceAll('/', '~1')}/${method.toLowerCase()}/responses/${res.statusCode}/content/${type.replaceAll('/', '~1')}/schema`;
    let validate = this.cache.get(pointer);
    if (!validate) {
      validate = this.ajv.compile({ $ref: pointer });
      this.cache.set(pointer, validate);
    }
    const body: unknown = JSON.parse(res.body);
    const ok = validate(body);
    expect(ok, `${method} ${route.path} ${res.statusCode} body does not match the document: ${this.ajv.errorsText(validate.errors)}\n${res.body.slice(0, 500)}`).toBe(true);
    this.checked++;
  }
}

export interface CallOptions {
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
  form?: Record<string, string>;
}

export interface CallResult<T = any> {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: T;
  text: string;
}

interface Injectable {
  inject(options: { method: 'GET'; url: string; headers: Record<string, string>; payload?: string | object }): Promise<InjectedResponse>;
}

/** `app.inject` with a bearer token, JSON or form bodies, every answer checked against the document. */
export function caller(app: Injectable, checker: ResponseChecker) {
  return async function call<T = any>(method: string, url: string, options: CallOptions = {}): Promise<CallResult<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let payload: string | object | undefined;
    if (options.form) {
      payload = new URLSearchParams(options.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (options.body !== undefined) {
      payload = options.body as object;
    }
    const res = await app.inject({ method: method as 'GET', url, headers, ...(payload !== undefined ? { payload } : {}) });
    checker.check(method, url, res);
    const isJson = String(res.headers['content-type'] ?? '').includes('json');
    return { status: res.statusCode, headers: res.headers, body: (isJson && res.body ? JSON.parse(res.body) : res.body) as T, text: res.body };
  };
}
