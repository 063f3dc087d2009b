/**
 * The deployment files (Dockerfile, .dockerignore, compose.yaml, deploy/k8s) checked offline: first
 * the real validators of scripts/validate-deploy.ts (zero problems allowed), then what a schema
 * cannot see: probes, resources, non-root, routing of every API path, the settings that the services
 * would load, and the image's own HEALTHCHECK and CMD run for real against stand-ins.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Copy } from 'dockerfile-ast';
import { parse as parseYaml } from 'yaml';
import { loadAuthConfig, type AuthConfig } from '../../internal/auth-service/config.js';
import { loadCourseConfig, type CourseConfig } from '../../internal/course-service/config.js';
import { PROJECT_ROOT } from '../../internal/shared/utils/paths.js';
import { imageEnv } from '../../scripts/image_env.js';
import {
  composeVariables,
  dockerStages,
  dockerignoreExcludes,
  loadK8sText,
  parseDockerfile,
  parseEnvFile,
  strictK8sFields,
  validateComposeText,
  validateDeploy,
  validateDockerfileText,
  validateK8sObjects,
  type CheckResult,
  type K8sObject,
} from '../../scripts/validate-deploy.js';

const root = PROJECT_ROOT;
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const SERVICES = ['auth-service', 'course-service'] as const;
const PORTS = { 'auth-service': 8081, 'course-service': 8082 } as const;

/** The path prefixes each service owns (docs/ARCHITECTURE.md; plus the JWKS under /.well-known). */
const OWNED_PREFIXES: Record<string, string[]> = {
  'auth-service': ['/api/v1/auth', '/api/v1/users', '/api/v1/admin', '/api/v1/notifications', '/.well-known'],
  'course-service': ['/api/v1/courses', '/api/v1/reviews', '/api/v1/categories', '/api/v1/instructor', '/api/v1/sections', '/api/v1/lessons', '/api/v1/enrolments', '/api/v1/certificates'],
};

// ---- loading ----------------------------------------------------------------------------------------

function k8sObjects(): K8sObject['object'][] {
  const dir = join(root, 'deploy', 'k8s');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap((f) => loadK8sText(readFileSync(join(dir, f), 'utf8'), f).objects.map((o) => o.object));
}

const objects = k8sObjects();
const byKind = (kind: string): any[] => objects.filter((o) => o.kind === kind);
const named = (kind: string, name: string): any => {
  const found = byKind(kind).find((o) => o.metadata?.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in deploy/k8s`);
  return found;
};
const envConfigMap = named('ConfigMap', 'course-platform-env').data as Record<string, string>;
const settingsConfigMap = named('ConfigMap', 'course-platform-config').data as Record<string, string>;
const compose = parseYaml(read('compose.yaml')) as { services: Record<string, any>; volumes?: Record<string, unknown> };

function podSpec(workload: any): any {
  return workload.spec.template.spec;
}

function matches(selector: Record<string, string>, labels: Record<string, string> = {}): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** The secret values of secrets.example.yaml, by Secret name. */
function secretTemplate(name: string): Record<string, string> {
  return named('Secret', name).stringData as Record<string, string>;
}

/** Load a service's settings the way the container would: settings file + environment. */
function loadSettings(service: 'auth-service', fileText: string, env: Record<string, string>): AuthConfig;
function loadSettings(service: 'course-service', fileText: string, env: Record<string, string>): CourseConfig;
function loadSettings(service: (typeof SERVICES)[number], fileText: string, env: Record<string, string>): AuthConfig | CourseConfig;
function loadSettings(service: (typeof SERVICES)[number], fileText: string, env: Record<string, string>): AuthConfig | CourseConfig {
  const dir = mkdtempSync(join(tmpdir(), 'deploy-config-'));
  try {
    const file = join(dir, `${service}.yml`);
    writeFileSync(file, fileText);
    return service === 'auth-service' ? loadAuthConfig({ file, env }) : loadCourseConfig({ file, env });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Kubernetes `pathType: Prefix`: element-wise prefix, the longest matching rule wins. */
function route(ingress: any, path: string): { service: string; port: string | number } | undefined {
  const elems = (p: string) => p.split('/').filter(Boolean);
  const want = elems(path);
  let best: { len: number; backend: any } | undefined;
  for (const rule of ingress.spec.rules) {
    for (const p of rule.http.paths) {
      const have = elems(p.path);
      const ok = p.pathType === 'Prefix' ? have.every((e, i) => want[i] === e) : p.path === path;
      if (ok && (!best || have.length > best.len)) best = { len: have.length, backend: p.backend };
    }
  }
  return best && { service: best.backend.service.name, port: best.backend.service.port.name ?? best.backend.service.port.number };
}

// ---- the validators --------------------------------------------------------------------------------

describe('validators (scripts/validate-deploy.ts)', () => {
  let results: CheckResult[] = [];
  beforeAll(async () => {
    results = await validateDeploy(root);
  });

  it('find no problem in any deployment file', () => {
    const problems = results.flatMap((r) => r.errors.map((e) => `${r.name}: ${e}`));
    expect(problems).toEqual([]);
    expect(results.map((r) => r.name)).toEqual(
      expect.arrayContaining(['Dockerfile', 'compose.yaml', 'deploy/k8s (OpenAPI schemas)', 'deploy/k8s (unknown fields)']),
    );
    // Only the kubectl-based check may be skipped (when kubectl is not installed).
    expect(results.filter((r) => r.skipped).map((r) => r.name).every((n) => n.includes('kustomize'))).toBe(true);
  });

  it('catch a broken Dockerfile', () => {
    const problems = validateDockerfileText(
      ['FROM node:latest', 'HEALTHCHECK --bogus=1 CMD true', 'COPY --from=nowhere /a /b', 'RUN apt-get install -y curl', 'CMD node main.js', ''].join('\n'),
    ).join('\n');
    expect(problems).toMatch(/latest tag/);
    expect(problems).toMatch(/Unknown flag: bogus/);
    expect(problems).toMatch(/names no earlier stage/);
    expect(problems).toMatch(/no-install-recommends/);
    expect(problems).toMatch(/JSON \(exec\) form/);
    expect(problems).toMatch(/no USER/);
    expect(validateDockerfileText('FROM node:26-slim\nUSER root\nCMD ["node"]\n').join('\n')).toMatch(/USER root is root[\s\S]*no HEALTHCHECK/);
  });

  it('catch a compose file that breaks the Compose Specification', () => {
    const problems = validateComposeText(
      ['name: x', 'services:', '  app:', '    image: busybox', '    healthcheck:', '      tests: ["CMD", "true"]', '    depends_on:', '      db:', '        condition: service_ready', ''].join('\n'),
    ).join('\n');
    expect(problems).toMatch(/healthcheck must NOT have additional properties \(tests\)/);
    expect(problems).toMatch(/condition must be equal to one of the allowed values/);
    // dclint's rules (they run once the schema passes): an image without a version tag.
    expect(validateComposeText('name: x\nservices:\n  app:\n    image: busybox\n').join('\n')).toMatch(/concrete version tag/);
  });

  it('catch Kubernetes objects that the API server would reject or silently drop', () => {
    const { objects: bad } = loadK8sText(
      [
        'apiVersion: networking.k8s.io/v1',
        'kind: Ingress',
        'metadata: {name: edge}',
        'spec: {rules: [{http: {paths: [{path: /a, pathType: Prefixx, backend: {service: {name: s, port: {number: 80}}}}]}}]}',
        '---',
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: {name: web}',
        'spec: {selector: {}, template: {spec: {containers: [{name: c, image: i, readinesProbe: {}}]}}}',
        '---',
        'apiVersion: example.com/v1',
        'kind: Widget',
        'metadata: {name: widget}',
      ].join('\n'),
      'bad.yaml',
    );
    expect(validateK8sObjects(bad).join('\n')).toMatch(/pathType must be equal to one of the allowed values[\s\S]*Widget is not a kind/);
    const strict = strictK8sFields(bad).join('\n');
    expect(strict).toMatch(/Deployment\/web.*readinesProbe/);
    expect(strict).toMatch(/Ingress\/edge.*Prefixx/);
    // YAML 1.1, as Kubernetes reads it: `name: y` would be the boolean true.
    expect(strictK8sFields(loadK8sText('apiVersion: v1\nkind: Namespace\nmetadata: {name: y}\n', 'ns.yaml').objects).join('\n')).toMatch(/boolean' is not assignable to type 'string'/);
  });

  it('read .dockerignore the way Docker does', () => {
    const patterns = ['**', '!cmd/', '!package.json', '**/*.test.ts'];
    expect(dockerignoreExcludes(patterns, 'cmd/auth-service/main.ts')).toBe(false);
    expect(dockerignoreExcludes(patterns, 'cmd/auth-service/main.test.ts')).toBe(true);
    expect(dockerignoreExcludes(patterns, 'package.json')).toBe(false);
    expect(dockerignoreExcludes(patterns, '.env')).toBe(true);
    expect(dockerignoreExcludes(['var/'], 'var/auth-service/keys/a.pem')).toBe(true);
  });
});

// ---- Dockerfile ------------------------------------------------------------------------------------

describe('Dockerfile', () => {
  const text = read('Dockerfile');
  const dockerfile = parseDockerfile(text);
  const stages = dockerStages(dockerfile);
  const final = stages[stages.length - 1]!;
  const last = (stage: (typeof stages)[number], keyword: string) =>
    stage.instructions.filter((i) => i.getKeyword() === keyword).map((i) => i.getArgumentsContent() ?? '').pop();
  const runs = (stage: (typeof stages)[number]) => stage.instructions.filter((i) => i.getKeyword() === 'RUN').map((i) => i.getArgumentsContent() ?? '').join('\n');

  it('builds in stages: npm ci, npm run build, then a runtime with production dependencies only', () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    expect(stages.some((s) => /\bnpm ci\b/.test(runs(s)) && !/--omit=dev/.test(runs(s)))).toBe(true);
    expect(stages.some((s) => /npm run build/.test(runs(s)))).toBe(true);
    expect(runs(final)).toMatch(/npm ci --omit=dev/);
    const copies = final.instructions.filter((i) => i.getKeyword() === 'COPY').map((i) => i.getArgumentsContent() ?? '');
    for (const dir of ['dist', 'migrations', 'config', 'swagger']) expect(copies.some((c) => c.includes(dir))).toBe(true);
    const fromBuild = final.instructions.filter((i) => i.getKeyword() === 'COPY' && (i as Copy).getFromFlag()?.getValue() === 'build');
    expect(fromBuild.map((i) => i.getArgumentsContent())).toEqual([expect.stringMatching(/^\/app\/dist /)]);
  });

  it('runs on an even-numbered (LTS) Node.js slim image', () => {
    const defaults = new Map(dockerfile.getInitialARGs().flatMap((a) => a.getProperties().map((p) => [p.getName(), p.getValue() ?? ''] as const)));
    const image = (final.from.getImage() ?? '').replace(/\$\{?(\w+)\}?/g, (_, n: string) => defaults.get(n) ?? '');
    const m = /^node:(\d+)-[a-z]+-slim$/.exec(image);
    expect(m, image).not.toBeNull();
    expect(Number(m![1]) % 2).toBe(0);
    expect(Number(m![1])).toBeGreaterThanOrEqual(24);
  });

  it('ends as a non-root user with a HEALTHCHECK on /healthz, HOST=0.0.0.0, VAR_DIR and both ports', () => {
    expect(last(final, 'USER')).toMatch(/^(node|1000)(:.*)?$/);
    const healthcheck = last(final, 'HEALTHCHECK') ?? '';
    expect(healthcheck).toMatch(/fetch\(/);
    expect(healthcheck).toMatch(/\/healthz/);
    expect(healthcheck).not.toMatch(/curl|wget/);
    const env = final.instructions.filter((i) => i.getKeyword() === 'ENV').map((i) => i.getArgumentsContent()).join(' ');
    expect(env).toMatch(/HOST=0\.0\.0\.0/);
    expect(env).toMatch(/VAR_DIR=\/var\/lib\/course-platform/);
    expect(env).toMatch(/SERVICE=\$\{?SERVICE\}?/);
    expect(last(final, 'ARG')).toBe('SERVICE=auth-service');
    expect((last(final, 'EXPOSE') ?? '').split(/\s+/)).toEqual(expect.arrayContaining(['8081', '8082']));
    expect(runs(final)).toMatch(/chown node:node \/var\/lib\/course-platform/);
  });

  it("bounds V8's heap, and npm start and npm run bench start the services with the image's own settings", () => {
    const env = final.instructions.filter((i) => i.getKeyword() === 'ENV').map((i) => i.getArgumentsContent()).join(' ');
    const fromImage = imageEnv();
    expect(env).toContain(`NODE_OPTIONS="${fromImage.NODE_OPTIONS}"`);
    expect(env).toContain(`MALLOC_ARENA_MAX=${fromImage.MALLOC_ARENA_MAX}`);
    const oldSpace = Number(/--max-old-space-size=(\d+)/.exec(fromImage.NODE_OPTIONS!)?.[1]);
    // Room for the young generation and the rest of the process under the pods' memory limit (256Mi).
    expect(oldSpace).toBeGreaterThanOrEqual(128);
    expect(oldSpace).toBeLessThanOrEqual(192);
  });

  describe('commands of the image, run here against stand-ins', () => {
    const jsonArgs = (keyword: string) => JSON.parse(last(final, keyword)!.replace(/^(--\S+\s+)*CMD\s+/, '')) as string[];
    let server: Server;
    let status = 200;
    let port = 0;
    beforeAll(async () => {
      server = createServer((req, res) => {
        res.statusCode = req.url === '/healthz' ? status : 404;
        res.end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    // Asynchronous: the stand-in server answers from this process's event loop.
    const healthcheck = (env: Record<string, string>) => {
      const [cmd, ...args] = jsonArgs('HEALTHCHECK');
      return new Promise<number | null>((resolve, reject) => {
        const child = spawn(cmd!, args, { env: { PATH: process.env.PATH, ...env }, stdio: 'ignore', timeout: 10_000 });
        child.on('error', reject);
        child.on('exit', (code) => resolve(code));
      });
    };

    it('HEALTHCHECK passes on 200 from /healthz and fails otherwise (port from PORT or the service)', async () => {
      status = 200;
      expect(await healthcheck({ PORT: String(port) })).toBe(0);
      expect(await healthcheck({ SERVICE: 'course-service', COURSE_PORT: String(port) })).toBe(0);
      expect(await healthcheck({ SERVICE: 'auth-service', AUTH_PORT: String(port) })).toBe(0);
      expect(await healthcheck({ SERVICE: 'course-service', AUTH_PORT: String(port), COURSE_PORT: '1' })).toBe(1);
      status = 503;
      expect(await healthcheck({ PORT: String(port) })).toBe(1);
      status = 200;
      expect(await healthcheck({ SERVICE: 'auth-service', AUTH_PORT: '1' })).toBe(1); // nothing listens
    });

    it('CMD starts dist/cmd/$SERVICE/main.js for every service and refuses anything else', () => {
      const dir = mkdtempSync(join(tmpdir(), 'image-cmd-'));
      try {
        const services = readdirSync(join(root, 'cmd'));
        expect(services.sort()).toEqual([...SERVICES]);
        for (const service of services) {
          mkdirSync(join(dir, 'dist', 'cmd', service), { recursive: true });
          writeFileSync(join(dir, 'dist', 'cmd', service, 'main.js'), `console.log('started ' + ${JSON.stringify(service)});`);
        }
        const [cmd, ...args] = jsonArgs('CMD');
        const run = (service: string) => spawnSync(cmd!, args, { cwd: dir, env: { PATH: process.env.PATH, SERVICE: service }, encoding: 'utf8', timeout: 10_000 });
        for (const service of services) expect(run(service).stdout.trim()).toBe(`started ${service}`);
        const bad = run('../../etc');
        expect(bad.status).toBe(64);
        expect(bad.stderr).toMatch(/SERVICE must be auth-service or course-service/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

// ---- compose.yaml ----------------------------------------------------------------------------------

describe('compose.yaml', () => {
  const services = compose.services;
  const example = parseEnvFile(read('deploy/compose/.env.example'));

  /** compose interpolation with every variable set to a stand-in value (what `docker compose config` does). */
  const interpolate = (value: string) =>
    value.replace(/\$\{([A-Za-z_]\w*)(?::?[-?+][^}]*)?\}/g, (m, name: string) => {
      if (/:-/.test(m) && !example.get(name)) return m.replace(/^\$\{\w+:-([^}]*)\}$/, '$1');
      return `${name.toLowerCase()}-value-0123456789abcdef0123456789abcdef`;
    });

  it('has PostgreSQL 15, Redis 7, Mailpit and both services', () => {
    expect(Object.keys(services).sort()).toEqual(['auth-service', 'course-service', 'mailpit', 'postgres', 'redis']);
    expect(services.postgres.image).toMatch(/^postgres:15(\b|$)/);
    expect(services.redis.image).toMatch(/^redis:7(\b|$)/);
    expect(services.mailpit.image).toMatch(/^axllent\/mailpit:v\d/);
  });

  it('gives every service a healthcheck and starts dependants only once their dependencies are healthy', () => {
    for (const [name, service] of Object.entries(services)) {
      expect(service.healthcheck?.test, `${name} healthcheck`).toBeDefined();
      for (const [dep, condition] of Object.entries(service.depends_on ?? {})) {
        expect((condition as any).condition, `${name} -> ${dep}`).toBe('service_healthy');
        expect(services[dep]?.healthcheck, `${dep} (needed by ${name})`).toBeDefined();
      }
    }
    expect(Object.keys(services['course-service'].depends_on)).toEqual(expect.arrayContaining(['auth-service', 'postgres', 'redis']));
    expect(Object.keys(services['auth-service'].depends_on)).toEqual(expect.arrayContaining(['mailpit', 'postgres', 'redis']));
    for (const service of SERVICES) {
      const script = services[service].healthcheck.test.at(-1) as string;
      expect(() => new Function(script)).not.toThrow();
      expect(script).toContain(`127.0.0.1:${PORTS[service]}/`);
    }
  });

  it('builds both services from the one Dockerfile, chosen by SERVICE, and publishes 8081, 8082 and 8025', () => {
    for (const service of SERVICES) {
      expect(services[service].build.args.SERVICE).toBe(service);
      expect(services[service].environment.SERVICE).toBe(service);
      expect(services[service].ports.join(' ')).toContain(`:${PORTS[service]}:${PORTS[service]}`);
    }
    expect(services.mailpit.ports.join(' ')).toContain(':8025:8025');
  });

  it('keeps the generated signing key in a named volume at VAR_DIR', () => {
    const mount = (services['auth-service'].volumes as string[]).find((v) => v.endsWith(':/var/lib/course-platform'));
    expect(mount).toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(mount!.split(':')[0]);
  });

  it('takes every secret from .env, fails clearly without it, and ships none in .env.example', () => {
    const required = composeVariables(read('compose.yaml')).filter((v) => v.required).map((v) => v.name);
    expect(required).toEqual(expect.arrayContaining(['POSTGRES_PASSWORD', 'AUTH_DB_PASSWORD', 'COURSE_DB_PASSWORD', 'REFRESH_TOKEN_SECRET', 'COURSE_CLIENT_SECRET']));
    for (const name of required) expect(example.get(name), name).toBe('');
    expect(read('compose.yaml')).not.toMatch(/change-?me/i);
    // The secret course-service presents is the one auth-service lists for it.
    const clients = services['auth-service'].environment.AUTH_CLIENTS as string;
    expect(clients).toContain('"id":"course-service"');
    expect(clients).toMatch(/\$\{COURSE_CLIENT_SECRET:\?/);
    expect(services['course-service'].environment.COURSE_CLIENT_SECRET).toMatch(/^\$\{COURSE_CLIENT_SECRET:\?/);
  });

  it('wires settings that both services load without complaint', () => {
    const env = (service: string) => Object.fromEntries(Object.entries(services[service].environment as Record<string, string>).map(([k, v]) => [k, interpolate(String(v))]));
    const auth = loadSettings('auth-service', read('config/auth-config.yml'), env('auth-service'));
    expect(auth.database.url).toMatch(/^postgres:\/\/auth_service:[^@]+@postgres:5432\/auth$/);
    expect(auth.redis.url).toMatch(/^redis:\/\/redis:6379\/\d+$/);
    expect(auth.mail.smtpUrl).toBe('smtp://mailpit:1025');
    expect(auth.jwt.generateKeyIfMissing).toBe(true);
    expect(auth.clients).toEqual([{ id: 'course-service', secret: expect.any(String) }]);
    const course = loadSettings('course-service', read('config/course-config.yml'), env('course-service'));
    expect(course.database.url).toMatch(/^postgres:\/\/course_service:[^@]+@postgres:5432\/courses$/);
    expect(course.auth.url).toBe(`http://auth-service:${auth.http.port}`);
    expect(course.auth.clientSecret).toBe(auth.clients[0]!.secret);
    expect(course.redis.url).not.toBe(auth.redis.url);
    expect(read('deploy/compose/postgres-init.sh')).toMatch(/CREATE DATABASE auth[\s\S]*CREATE DATABASE courses/);
  });
});

// ---- Kubernetes ------------------------------------------------------------------------------------

describe('Kubernetes manifests', () => {
  const deployments = byKind('Deployment');
  const jobs = byKind('Job');
  const graceMs = (service: string) => (loadSettingsFor(service).http.shutdownGraceMs as number) ?? 10_000;

  function envFor(workload: any): Record<string, string> {
    const env: Record<string, string> = {};
    for (const c of podSpec(workload).containers) {
      for (const from of c.envFrom ?? []) {
        if (from.configMapRef) Object.assign(env, named('ConfigMap', from.configMapRef.name).data);
        if (from.secretRef) Object.assign(env, secretTemplate(from.secretRef.name));
      }
      for (const e of c.env ?? []) env[e.name] = e.value;
    }
    return env;
  }

  function loadSettingsFor(service: string): any {
    const deployment = named('Deployment', service);
    const file = service === 'auth-service' ? 'auth-config.yml' : 'course-config.yml';
    return loadSettings(service as (typeof SERVICES)[number], settingsConfigMap[file]!, envFor(deployment));
  }

  it('has a Deployment, Service, HPA and PDB per service, and a migration Job per service', () => {
    for (const service of SERVICES) {
      named('Deployment', service);
      named('Service', service);
      named('HorizontalPodAutoscaler', service);
      named('PodDisruptionBudget', service);
      named('Job', `${service}-migrate`);
    }
  });

  it('runs 2+ replicas with startup, readiness (/readyz) and liveness (/healthz) probes and resources', () => {
    for (const d of deployments) {
      expect(d.spec.replicas, d.metadata.name).toBeGreaterThanOrEqual(2);
      for (const c of podSpec(d).containers) {
        const portNames = (c.ports ?? []).map((p: any) => p.name);
        expect(c.readinessProbe?.httpGet?.path, d.metadata.name).toBe('/readyz');
        expect(c.livenessProbe?.httpGet?.path, d.metadata.name).toBe('/healthz');
        expect(c.startupProbe?.httpGet?.path, d.metadata.name).toBeDefined();
        for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) expect(portNames).toContain(probe.httpGet.port);
        for (const section of ['requests', 'limits']) {
          expect(c.resources?.[section]?.cpu, `${d.metadata.name} ${section}.cpu`).toBeDefined();
          expect(c.resources?.[section]?.memory, `${d.metadata.name} ${section}.memory`).toBeDefined();
        }
      }
    }
  });

  it('runs every pod as non-root with a read-only root filesystem (Pod Security "restricted")', () => {
    expect(named('Namespace', 'course-platform').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    for (const w of [...deployments, ...jobs]) {
      const spec = podSpec(w);
      expect(spec.securityContext.runAsNonRoot, w.metadata.name).toBe(true);
      expect(spec.securityContext.runAsUser, w.metadata.name).toBeGreaterThan(0);
      expect(spec.securityContext.seccompProfile.type).toBe('RuntimeDefault');
      for (const c of spec.containers) {
        expect(c.securityContext.readOnlyRootFilesystem, w.metadata.name).toBe(true);
        expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
        expect(c.securityContext.capabilities.drop).toEqual(['ALL']);
        const volumes = new Map<string, any>(spec.volumes.map((v: any) => [v.name, v]));
        const writable = (c.volumeMounts ?? []).filter((m: any) => !m.readOnly).map((m: any) => m.mountPath);
        expect(writable).toContain('/tmp');
        for (const m of c.volumeMounts ?? []) {
          if (!m.readOnly) expect(volumes.get(m.name)?.emptyDir, `${w.metadata.name} ${m.mountPath}`).toBeDefined();
        }
      }
    }
    for (const d of deployments) {
      const mounts = podSpec(d).containers[0].volumeMounts.map((m: any) => m.mountPath);
      expect(mounts).toContain(envFor(d).VAR_DIR);
    }
  });

  it('gives SIGTERM time to drain: terminationGracePeriodSeconds > preStop sleep + shutdownGraceMs', () => {
    for (const d of deployments) {
      const c = podSpec(d).containers[0];
      const sleep = Number(c.lifecycle?.preStop?.exec?.command?.at(-1) ?? c.lifecycle?.preStop?.sleep?.seconds ?? 0);
      expect(podSpec(d).terminationGracePeriodSeconds, d.metadata.name).toBeGreaterThan(sleep + graceMs(d.metadata.name) / 1000);
    }
  });

  it('loads each service\'s settings from the ConfigMaps and Secret template without an error', () => {
    const auth = loadSettingsFor('auth-service');
    expect(auth.jwt.generateKeyIfMissing).toBe(false);
    // One hop (the Ingress), not `true`: a client's own X-Forwarded-For entries are not believed.
    expect(auth.http.trustProxy).toBe(1);
    expect(auth.http.host).toBe('0.0.0.0');
    expect(auth.database.migrateOnStart).toBe(false);
    expect(auth.jwt.keysDir).toBe(envConfigMap.SIGNING_KEYS_DIR);
    const course = loadSettingsFor('course-service');
    expect(course.database.migrateOnStart).toBe(false);
    expect(course.http.trustProxy).toBe(1);
    expect(course.auth.clientSecret).toBe(auth.clients.find((c: any) => c.id === course.auth.clientId)?.secret);
    // AUTH_URL names the auth-service Service and its port.
    const url = new URL(course.auth.url);
    const authService = named('Service', url.hostname);
    expect(authService.spec.ports.map((p: any) => p.port)).toContain(Number(url.port));
  });

  it('mounts the signing keys from a Secret at SIGNING_KEYS_DIR in auth-service', () => {
    const spec = podSpec(named('Deployment', 'auth-service'));
    const mount = spec.containers[0].volumeMounts.find((m: any) => m.mountPath === envConfigMap.SIGNING_KEYS_DIR);
    expect(mount?.readOnly).toBe(true);
    const volume = spec.volumes.find((v: any) => v.name === mount.name);
    expect(Object.keys(secretTemplate(volume.secret.secretName)).every((k) => k.endsWith('.pem'))).toBe(true);
  });

  it('defines every Secret key the workloads read, and only placeholders', () => {
    for (const w of [...deployments, ...jobs]) {
      for (const from of podSpec(w).containers[0].envFrom ?? []) {
        if (from.secretRef) expect(Object.keys(secretTemplate(from.secretRef.name)).length).toBeGreaterThan(0);
      }
    }
    expect(Object.keys(secretTemplate('auth-service-secrets')).sort()).toEqual(['AUTH_CLIENTS', 'DATABASE_URL', 'REDIS_URL', 'REFRESH_TOKEN_SECRET', 'SMTP_URL']);
    expect(Object.keys(secretTemplate('course-service-secrets')).sort()).toEqual(['COURSE_CLIENT_SECRET', 'DATABASE_URL', 'REDIS_URL']);
    for (const secret of byKind('Secret')) {
      for (const [key, value] of Object.entries(secret.stringData as Record<string, string>)) expect(value, `${secret.metadata.name}.${key}`).toMatch(/CHANGE-ME/);
    }
    expect(parseYaml(read('deploy/k8s/kustomization.yaml')).resources).not.toContain('secrets.example.yaml');
  });

  it('points each Service, HPA and PDB at its own Deployment and never at a migration Job', () => {
    for (const service of SERVICES) {
      const deployment = named('Deployment', service);
      const podLabels = deployment.spec.template.metadata.labels;
      expect(matches(deployment.spec.selector.matchLabels, podLabels)).toBe(true);
      const svc = named('Service', service);
      expect(matches(svc.spec.selector, podLabels)).toBe(true);
      for (const job of jobs) expect(matches(svc.spec.selector, job.spec.template.metadata.labels), job.metadata.name).toBe(false);
      for (const other of deployments.filter((d) => d !== deployment)) expect(matches(svc.spec.selector, other.spec.template.metadata.labels)).toBe(false);
      const container = podSpec(deployment).containers[0];
      const port = container.ports.find((p: any) => p.name === svc.spec.ports[0].targetPort);
      expect(port.containerPort).toBe(PORTS[service]);
      expect(svc.spec.ports[0].port).toBe(PORTS[service]);
      expect(svc.spec.type ?? 'ClusterIP').toBe('ClusterIP');
      const env = envFor(deployment);
      expect(env.SERVICE).toBe(service);
      expect(env.MIGRATE_ON_START).toBe('false');

      const hpa = named('HorizontalPodAutoscaler', service);
      expect(hpa.apiVersion).toBe('autoscaling/v2');
      expect(hpa.spec.scaleTargetRef).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment', name: service });
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
      expect(hpa.spec.metrics).toContainEqual({ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } });
      expect(matches(named('PodDisruptionBudget', service).spec.selector.matchLabels, podLabels)).toBe(true);
    }
  });

  it('runs the migrations of each service in a Job with the service\'s own Secret', () => {
    expect(existsSync(join(root, 'scripts', 'migrate.ts'))).toBe(true);
    for (const service of SERVICES) {
      const job = named('Job', `${service}-migrate`);
      const c = podSpec(job).containers[0];
      expect(c.command).toEqual(['node', 'dist/scripts/migrate.js', service, 'up']);
      expect(c.image).toBe(podSpec(named('Deployment', service)).containers[0].image);
      expect(c.envFrom.map((f: any) => f.secretRef?.name).filter(Boolean)).toEqual([`${service}-secrets`]);
      expect(podSpec(job).restartPolicy).toBe('Never');
      // deploy/README.md applies `component in (config,migrations)` first: the Job and all it reads.
      expect(job.metadata.labels['app.kubernetes.io/component']).toBe('migrations');
      const configMaps = [
        ...c.envFrom.map((f: any) => f.configMapRef?.name),
        ...podSpec(job).volumes.map((v: any) => v.configMap?.name),
      ].filter(Boolean);
      for (const name of configMaps) expect(named('ConfigMap', name).metadata.labels['app.kubernetes.io/component'], name).toBe('config');
    }
  });

  describe('Ingress', () => {
    const ingress = named('Ingress', 'course-platform');

    it('routes every path prefix a service owns to that service', () => {
      const owned = OWNED_PREFIXES;
      for (const [service, prefixes] of Object.entries(owned)) {
        for (const prefix of prefixes) {
          const rule = ingress.spec.rules[0].http.paths.find((p: any) => p.path === prefix);
          expect(rule?.pathType, prefix).toBe('Prefix');
          expect(route(ingress, prefix)?.service, prefix).toBe(service);
          expect(route(ingress, `${prefix}/x/y`)?.service, prefix).toBe(service);
        }
      }
      expect(route(ingress, '/api/v1/authx')).toBeUndefined(); // Prefix matches whole path elements
      expect(route(ingress, '/metrics')).toBeUndefined();
    });

    it('sends every API path of both OpenAPI documents to its own service', () => {
      for (const service of SERVICES) {
        const doc = parseYaml(read(`swagger/${service}-swagger.yml`)) as { paths: Record<string, unknown> };
        // Service-to-service paths (/internal/..., /api/v1/internal/...) answer service tokens only.
        const internal = (p: string) => /^\/(api\/v1\/)?internal\//.test(p);
        const api = Object.keys(doc.paths).filter((p) => !/^\/(healthz|readyz|metrics|docs|openapi)/.test(p) && !internal(p));
        expect(api.length).toBeGreaterThan(0);
        for (const path of api) expect(route(ingress, path.replace(/\{[^}]+\}/g, 'id'))?.service, path).toBe(service);
        // The service-to-service API (auth-service's service token only) is not reachable from outside.
        for (const path of Object.keys(doc.paths).filter(internal)) {
          expect(route(ingress, path.replace(/\{[^}]+\}/g, 'id')), path).toBeUndefined();
        }
      }
    });

    it('uses only Services and port names that exist', () => {
      for (const p of ingress.spec.rules.flatMap((r: any) => r.http.paths)) {
        const svc = named('Service', p.backend.service.name);
        expect(svc.spec.ports.map((x: any) => x.name)).toContain(p.backend.service.port.name);
      }
    });
  });
});
