/**
 * Validates the deployment files offline, with real validators (no Docker engine or cluster needed):
 *
 * - Dockerfile: dockerfile-utils' validate() (the linter of the Dockerfile language server), then rules
 *   of ours over dockerfile-ast in the spirit of hadolint (tagged bases, JSON CMD, non-root final USER,
 *   a HEALTHCHECK, COPY --from of a real stage, apt hygiene), and .dockerignore against what the build
 *   copies (sources in, secrets and local state out).
 * - compose.yaml: the Compose Specification JSON schema (the copy dclint ships) with ajv, dclint's
 *   rules, every ${VAR} documented in deploy/compose/.env.example (required ones left empty there),
 *   bind-mount and build-context paths present.
 * - deploy/k8s: every object against the Kubernetes OpenAPI schemas (kubernetes-models' validate()),
 *   unknown fields through the TypeScript checker over kubernetes-models' typings (like kubeconform
 *   -strict), kustomization.yaml's resources, and `kubectl kustomize` when kubectl is installed.
 *
 * Usage: npm run -s build && node dist/scripts/validate-deploy.js   (exit 1 on any problem)
 * test/deploy/deploy.test.ts runs the same checks and adds structural assertions.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ajv } from 'ajv';
import { DCLinter } from 'dclint';
import { DockerfileParser, type Copy, type Dockerfile, type From, type Instruction } from 'dockerfile-ast';
import { validate as validateDockerfileSyntax } from 'dockerfile-utils';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import ts from 'typescript';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { PROJECT_ROOT } from '../internal/shared/utils/paths.js';

const require = createRequire(import.meta.url);

export interface CheckResult {
  /** What was checked, e.g. "Dockerfile". */
  name: string;
  /** The validator(s) and their versions. */
  tool: string;
  errors: string[];
  /** Set when the check could not run here (and why); errors is then empty. */
  skipped?: string;
}

function packageVersion(name: string): string {
  const file = require.resolve(`${name}/package.json`);
  return `${name} ${(JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version}`;
}

// ---------------------------------------------------------------------------------------------------
// Dockerfile

/** The instructions of each build stage, in order; the last stage is the image. */
export function dockerStages(dockerfile: Dockerfile): { from: From; name: string | null; instructions: Instruction[] }[] {
  const stages: { from: From; name: string | null; instructions: Instruction[] }[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const from = instruction as From;
      stages.push({ from, name: from.getBuildStage(), instructions: [] });
    } else {
      stages[stages.length - 1]?.instructions.push(instruction);
    }
  }
  return stages;
}

export function parseDockerfile(text: string): Dockerfile {
  return DockerfileParser.parse(text);
}

/** Global ARG defaults (before the first FROM), for resolving `FROM ${NODE_IMAGE}`. */
function initialArgs(dockerfile: Dockerfile): Map<string, string> {
  const args = new Map<string, string>();
  for (const arg of dockerfile.getInitialARGs()) {
    for (const property of arg.getProperties()) {
      const value = property.getValue();
      if (value !== null) args.set(property.getName(), value);
    }
  }
  return args;
}

function resolveArgs(text: string, args: Map<string, string>): string {
  return text.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (match, name: string) => args.get(name) ?? match);
}

/** dockerfile-utils' diagnostics plus our hadolint-like rules. Each problem is "line N: message". */
export function validateDockerfileText(text: string): string[] {
  const problems: string[] = [];
  for (const d of validateDockerfileSyntax(text)) problems.push(`line ${d.range.start.line + 1}: ${d.message}`);

  const dockerfile = parseDockerfile(text);
  const stages = dockerStages(dockerfile);
  const at = (i: Instruction) => `line ${i.getRange().start.line + 1}`;
  if (stages.length === 0) return [...problems, 'no FROM instruction'];

  const args = initialArgs(dockerfile);
  const stageNames = new Set<string>();
  for (const stage of stages) {
    const image = resolveArgs(stage.from.getImage() ?? '', args);
    const name = image.split('@')[0]!;
    if (!stageNames.has(name)) {
      // DL3006/DL3007: a base image has an explicit tag (or digest), never "latest".
      const lastPart = name.split('/').pop() ?? '';
      const tag = lastPart.includes(':') ? lastPart.split(':').pop() : undefined;
      if (!image.includes('@') && !tag) problems.push(`${at(stage.from)}: base image ${image || '(none)'} has no tag`);
      if (tag === 'latest') problems.push(`${at(stage.from)}: base image ${image} uses the latest tag`);
      if (/\$/.test(image)) problems.push(`${at(stage.from)}: base image ${image} has an unresolved variable`);
    }
    if (stage.name) stageNames.add(stage.name);

    for (const instruction of stage.instructions) {
      const keyword = instruction.getKeyword();
      const argsText = instruction.getArgumentsContent() ?? '';
      // DL3025: JSON (exec) form, so signals reach the process and no shell is implied.
      if ((keyword === 'CMD' || keyword === 'ENTRYPOINT') && !argsText.trim().startsWith('[')) {
        problems.push(`${at(instruction)}: ${keyword} should use the JSON (exec) form`);
      }
      // DL3020: COPY for local files.
      if (keyword === 'ADD' && !/https?:\/\/|\.tar/.test(argsText)) problems.push(`${at(instruction)}: use COPY instead of ADD for files`);
      if (keyword === 'RUN') {
        if (/(^|[;&|\s])sudo\s/.test(argsText)) problems.push(`${at(instruction)}: do not use sudo (DL3004)`);
        if (/apt-get\s+(-\S+\s+)*install/.test(argsText) && !argsText.includes('--no-install-recommends')) {
          problems.push(`${at(instruction)}: apt-get install without --no-install-recommends (DL3015)`);
        }
        if (/apt-get\s+(-\S+\s+)*install/.test(argsText) && !argsText.includes('rm -rf /var/lib/apt/lists')) {
          problems.push(`${at(instruction)}: delete the apt lists after apt-get install (DL3009)`);
        }
        if (/\bnpm\s+(install|i)\b/.test(argsText)) problems.push(`${at(instruction)}: use npm ci (the lockfile), not npm install`);
      }
      if (keyword === 'COPY') {
        const from = (instruction as Copy).getFromFlag()?.getValue();
        if (from && !stageNames.has(from) && !from.includes(':') && !/^\d+$/.test(from)) {
          problems.push(`${at(instruction)}: COPY --from=${from} names no earlier stage`);
        }
      }
    }
  }

  const final = stages[stages.length - 1]!;
  // DL3002: the image does not run as root.
  const users = final.instructions.filter((i) => i.getKeyword() === 'USER');
  const user = users[users.length - 1]?.getArgumentsContent()?.trim();
  if (!user) problems.push('final stage: no USER (the image would run as root)');
  else if (/^(root|0)(:|$)/.test(user)) problems.push(`final stage: USER ${user} is root`);
  const healthchecks = final.instructions.filter((i) => i.getKeyword() === 'HEALTHCHECK');
  const healthcheck = healthchecks[healthchecks.length - 1]?.getArgumentsContent()?.trim() ?? '';
  if (!healthcheck || /^NONE\b/i.test(healthcheck)) problems.push('final stage: no HEALTHCHECK');
  return problems;
}

/**
 * .dockerignore semantics (Docker's fileutils): patterns in order, the last one that matches the path
 * or one of its parent directories decides; `!` re-includes; `**` spans directories.
 */
export function dockerignoreExcludes(patterns: string[], path: string): boolean {
  const toRegExp = (pattern: string) => {
    let re = '';
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i]!;
      if (c === '*' && pattern[i + 1] === '*') {
        re += '.*';
        i++;
        if (pattern[i + 1] === '/') i++;
      } else if (c === '*') re += '[^/]*';
      else if (c === '?') re += '[^/]';
      else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    return new RegExp(`^${re}$`);
  };
  const rules = patterns
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      const body = (negate ? line.slice(1) : line).trim().replace(/^\/+/, '').replace(/\/+$/, '');
      return { negate, re: toRegExp(body) };
    });
  const parts = path.split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let excluded = false;
  for (const rule of rules) {
    if (prefixes.some((p) => rule.re.test(p))) excluded = !rule.negate;
  }
  return excluded;
}

function listFiles(dir: string, root: string): string[] {
  const out: string[] = [];
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full, root));
    else out.push(relative(root, full).split(sep).join('/'));
  }
  return out;
}

/** The build context as Docker would send it, checked against what the Dockerfile copies. */
function validateBuildContext(root: string, dockerfileText: string): string[] {
  const problems: string[] = [];
  const ignoreFile = join(root, '.dockerignore');
  if (!existsSync(ignoreFile)) return ['.dockerignore is missing'];
  const patterns = readFileSync(ignoreFile, 'utf8').split('\n');
  const excluded = (path: string) => dockerignoreExcludes(patterns, path);

  // Local state and secrets never enter the context.
  for (const path of ['.env', '.git/config', 'var/auth-service/keys/key.pem', 'node_modules/x/index.js', 'dist/cmd/auth-service/main.js', 'deploy/compose/.env']) {
    if (!excluded(path)) problems.push(`.dockerignore lets ${path} into the build context`);
  }
  // Every COPY source (outside --from) exists and is in the context.
  const dockerfile = parseDockerfile(dockerfileText);
  for (const stage of dockerStages(dockerfile)) {
    for (const instruction of stage.instructions) {
      if (instruction.getKeyword() !== 'COPY' || (instruction as Copy).getFromFlag()) continue;
      const args = instruction.getArguments().map((a) => a.getValue()).filter((a) => !a.startsWith('--'));
      for (const source of args.slice(0, -1)) {
        if (source === '.') continue;
        const clean = source.replace(/\/$/, '');
        if (!existsSync(join(root, clean))) problems.push(`COPY ${source}: no such file in the repository`);
        else if (statSync(join(root, clean)).isDirectory()) {
          if (listFiles(join(root, clean), root).every(excluded)) problems.push(`COPY ${source}: .dockerignore excludes all of it`);
        } else if (excluded(clean)) problems.push(`COPY ${source}: excluded by .dockerignore`);
      }
    }
  }
  // `npm run build` (tsconfig.build.json) needs every non-test source of the services.
  const build = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8')) as { include?: string[] };
  for (const required of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json']) {
    if (excluded(required)) problems.push(`.dockerignore excludes ${required}, which the build needs`);
  }
  for (const dir of ['cmd', 'internal']) {
    if (!(build.include ?? []).includes(dir)) problems.push(`tsconfig.build.json does not include ${dir}/`);
    for (const file of listFiles(join(root, dir), root)) {
      if (file.endsWith('.ts') && !file.endsWith('.test.ts') && excluded(file)) problems.push(`.dockerignore excludes ${file}, which the build compiles`);
    }
  }
  for (const script of ['scripts/migrate.ts', 'scripts/create-admin.ts']) {
    if (existsSync(join(root, script)) && excluded(script)) problems.push(`.dockerignore excludes ${script}, which the image runs`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------
// Compose

let composeValidator: ReturnType<Ajv['compile']> | undefined;

/** The Compose Specification schema, as shipped in the dclint package (schemas/compose.schema.json). */
export function composeSchemaFile(): string {
  return join(dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json');
}

function composeSchemaValidate(data: unknown): string[] {
  if (!composeValidator) {
    const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
    // The schema names its draft as "https://json-schema.org/draft-07/schema", which is not the URI
    // Ajv registers draft-07 under; it is draft-07, Ajv's default, so the $schema key is dropped.
    const { $schema: _draft, ...schema } = JSON.parse(readFileSync(composeSchemaFile(), 'utf8')) as Record<string, unknown>;
    composeValidator = ajv.compile(schema);
  }
  if (composeValidator(data)) return [];
  return (composeValidator.errors ?? []).map((e) => `schema: ${e.instancePath || '/'} ${e.message ?? ''}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`);
}

/** Compose Specification schema + dclint's rules (errors and warnings) for one compose file's text. */
export function validateComposeText(text: string): string[] {
  const problems: string[] = [];
  let data: unknown;
  try {
    data = parseYaml(text, { merge: true });
  } catch (err) {
    return [`YAML: ${(err as Error).message}`];
  }
  problems.push(...composeSchemaValidate(data));

  const dir = mkdtempSync(join(tmpdir(), 'compose-lint-'));
  try {
    const file = join(dir, 'compose.yaml');
    writeFileSync(file, text);
    const linter = new DCLinter({ rules: {}, quiet: true, debug: false, exclude: [] });
    for (const result of linter.lintFiles([file], false)) {
      for (const m of result.messages) {
        // The schema check above already lists every schema error (dclint reports only the first).
        if (m.rule === 'invalid-schema') continue;
        problems.push(`line ${m.line}: ${m.message} (dclint ${m.rule})`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return problems;
}

/** `${VAR}`, `${VAR:-x}`, `${VAR:?msg}` ... in a compose file; `$$` is a literal dollar. */
export function composeVariables(text: string): { name: string; required: boolean }[] {
  const out = new Map<string, boolean>();
  const re = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])[^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;
  for (const m of text.matchAll(re)) {
    const name = m[1] ?? m[3];
    if (!name) continue;
    const required = m[2] === '?' || m[2] === ':?';
    out.set(name, (out.get(name) ?? false) || required);
  }
  return [...out].map(([name, required]) => ({ name, required }));
}

/** KEY=VALUE lines of an env file (comments and blanks skipped). */
export function parseEnvFile(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!.trim());
  }
  return out;
}

function validateComposeProject(root: string, composeText: string): string[] {
  const problems: string[] = [];
  const exampleFile = join(root, 'deploy', 'compose', '.env.example');
  if (!existsSync(exampleFile)) return ['deploy/compose/.env.example is missing'];
  const example = parseEnvFile(readFileSync(exampleFile, 'utf8'));
  for (const v of composeVariables(composeText)) {
    if (!example.has(v.name)) problems.push(`\${${v.name}} is not documented in deploy/compose/.env.example`);
    else if (v.required && example.get(v.name) !== '') problems.push(`deploy/compose/.env.example gives a value to ${v.name}: leave required secrets empty`);
  }
  const compose = parseYaml(composeText, { merge: true }) as { services?: Record<string, { build?: string | { context?: string; dockerfile?: string }; volumes?: (string | { type?: string; source?: string })[] }> };
  for (const [name, service] of Object.entries(compose.services ?? {})) {
    const build = typeof service.build === 'string' ? { context: service.build } : service.build;
    if (build) {
      const context = join(root, build.context ?? '.');
      if (!existsSync(context)) problems.push(`${name}: build context ${build.context} does not exist`);
      if (!existsSync(join(context, build.dockerfile ?? 'Dockerfile'))) problems.push(`${name}: no ${build.dockerfile ?? 'Dockerfile'} in ${build.context}`);
    }
    for (const volume of service.volumes ?? []) {
      const source = typeof volume === 'string' ? volume.split(':')[0]! : volume.type === 'bind' ? volume.source ?? '' : '';
      if ((source.startsWith('./') || source.startsWith('../')) && !existsSync(join(root, source))) {
        problems.push(`${name}: bind mount source ${source} does not exist`);
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------
// Kubernetes

export interface K8sObject {
  /** file#document (kind/name) */
  source: string;
  object: Record<string, unknown> & { apiVersion?: string; kind?: string; metadata?: { name?: string } };
}

interface ModelClass {
  new (data: never): { validate(): void };
}

/** The kinds the manifests may use, with kubernetes-models' class and its typings module. */
const K8S_KINDS: Record<string, { model: ModelClass; types: string }> = {
  'v1/Namespace': { model: Namespace as unknown as ModelClass, types: 'kubernetes-models/v1/Namespace' },
  'v1/ConfigMap': { model: ConfigMap as unknown as ModelClass, types: 'kubernetes-models/v1/ConfigMap' },
  'v1/Secret': { model: Secret as unknown as ModelClass, types: 'kubernetes-models/v1/Secret' },
  'v1/Service': { model: Service as unknown as ModelClass, types: 'kubernetes-models/v1/Service' },
  'apps/v1/Deployment': { model: Deployment as unknown as ModelClass, types: 'kubernetes-models/apps/v1/Deployment' },
  'autoscaling/v2/HorizontalPodAutoscaler': { model: HorizontalPodAutoscaler as unknown as ModelClass, types: 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler' },
  'batch/v1/Job': { model: Job as unknown as ModelClass, types: 'kubernetes-models/batch/v1/Job' },
  'networking.k8s.io/v1/Ingress': { model: Ingress as unknown as ModelClass, types: 'kubernetes-models/networking.k8s.io/v1/Ingress' },
  'policy/v1/PodDisruptionBudget': { model: PodDisruptionBudget as unknown as ModelClass, types: 'kubernetes-models/policy/v1/PodDisruptionBudget' },
};

/**
 * Every document of a manifest file. Kubernetes reads YAML 1.1 (0440 is octal, `on` is true), so
 * these are parsed as YAML 1.1 too.
 */
export function loadK8sText(text: string, name: string): { objects: K8sObject[]; errors: string[] } {
  const objects: K8sObject[] = [];
  const errors: string[] = [];
  parseAllDocuments(text, { version: '1.1' }).forEach((doc, i) => {
    if (doc.errors.length) errors.push(`${name}#${i + 1}: YAML: ${doc.errors[0]!.message}`);
    const object = doc.toJS() as K8sObject['object'] | null;
    if (object === null || object === undefined) return;
    objects.push({ source: `${name}#${i + 1} (${object.kind ?? '?'}/${object.metadata?.name ?? '?'})`, object });
  });
  return { objects, errors };
}

/** kubernetes-models' OpenAPI schema validation of each object. */
export function validateK8sObjects(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const { source, object } of objects) {
    const kind = K8S_KINDS[`${object.apiVersion}/${object.kind}`];
    if (!kind) {
      problems.push(`${source}: ${object.apiVersion}/${object.kind} is not a kind this validator knows (add it to K8S_KINDS)`);
      continue;
    }
    try {
      new kind.model(object as never).validate();
    } catch (err) {
      const errors = (err as { errors?: { instancePath: string; message?: string }[] }).errors;
      if (errors?.length) for (const e of errors) problems.push(`${source}: ${e.instancePath || '/'} ${e.message ?? ''}`);
      else problems.push(`${source}: ${(err as Error).message}`);
    }
  }
  return problems;
}

/**
 * Unknown or mistyped fields (a misspelt `readinesProbe` passes the OpenAPI schemas, which allow
 * extra properties): each object becomes an object literal typed with kubernetes-models' interface,
 * and the TypeScript checker's excess-property and type checks report what the API would drop.
 */
export function strictK8sFields(objects: K8sObject[], root: string = PROJECT_ROOT): string[] {
  const known = objects.filter(({ object }) => K8S_KINDS[`${object.apiVersion}/${object.kind}`]);
  if (known.length === 0) return [];
  const file = join(root, `__validate_deploy_${process.pid}__.ts`);
  const lines: string[] = [];
  const owner: { start: number; source: string }[] = [];
  known.forEach(({ source, object }, i) => {
    const { types } = K8S_KINDS[`${object.apiVersion}/${object.kind}`]!;
    const typeName = `I${types.split('/').pop()}`;
    owner.push({ start: lines.length, source });
    lines.push(`import type { ${typeName} as T${i} } from '${types}';`);
    lines.push(`export const o${i}: T${i} = ${JSON.stringify(object, null, 1)};`);
  });
  const text = lines.join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (name, language, ...rest) => (name === file ? ts.createSourceFile(name, text, language) : getSourceFile(name, language, ...rest));
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  const starts: number[] = [];
  {
    let line = 0;
    for (const l of lines) {
      starts.push(line);
      line += l.split('\n').length;
    }
  }
  const problems: string[] = [];
  for (const d of ts.getPreEmitDiagnostics(program)) {
    if (d.file?.fileName !== file || d.start === undefined) {
      if (!d.file) problems.push(`typings: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
      continue;
    }
    const line = d.file.getLineAndCharacterOfPosition(d.start).line;
    let source = '?';
    owner.forEach((o, i) => {
      if (line >= starts[o.start]!) source = known[i]!.source;
    });
    const chain = ts.flattenDiagnosticMessageText(d.messageText, '\n').split('\n');
    problems.push(`${source}: ${chain[chain.length - 1]!.trim()}`);
  }
  return problems;
}

interface Kustomization {
  resources?: string[];
  images?: { name: string; newName?: string; newTag?: string }[];
}

function validateK8sDirectory(root: string): { results: CheckResult[]; objects: K8sObject[] } {
  const dir = join(root, 'deploy', 'k8s');
  const errors: string[] = [];
  const objects: K8sObject[] = [];
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml').sort();
  for (const f of files) {
    const loaded = loadK8sText(readFileSync(join(dir, f), 'utf8'), `deploy/k8s/${f}`);
    errors.push(...loaded.errors);
    objects.push(...loaded.objects);
  }
  errors.push(...validateK8sObjects(objects));

  const kustomization = parseYaml(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
  const resources = kustomization.resources ?? [];
  for (const r of resources) if (!existsSync(join(dir, r))) errors.push(`kustomization.yaml: resource ${r} does not exist`);
  for (const f of files) {
    if (!resources.includes(f) && !f.endsWith('.example.yaml')) errors.push(`kustomization.yaml does not list ${f}`);
    if (resources.includes(f) && f.endsWith('.example.yaml')) errors.push(`kustomization.yaml lists the template ${f}: applying it would overwrite real Secrets`);
  }

  const results: CheckResult[] = [
    { name: 'deploy/k8s (OpenAPI schemas)', tool: packageVersion('kubernetes-models'), errors },
    { name: 'deploy/k8s (unknown fields)', tool: `TypeScript ${ts.version} over ${packageVersion('kubernetes-models')} typings`, errors: strictK8sFields(objects, root) },
  ];

  const kubectl = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 30_000 });
  if (kubectl.error) {
    results.push({ name: 'deploy/k8s (kustomize build)', tool: 'kubectl kustomize', errors: [], skipped: `kubectl not available (${(kubectl.error as NodeJS.ErrnoException).code})` });
  } else {
    const built: string[] = [];
    if (kubectl.status !== 0) built.push(`kubectl kustomize failed: ${kubectl.stderr.trim()}`);
    else {
      const rendered = loadK8sText(kubectl.stdout, 'kustomize-output');
      built.push(...rendered.errors, ...validateK8sObjects(rendered.objects));
      for (const { source, object } of rendered.objects) {
        if ((object.metadata as { namespace?: string } | undefined)?.namespace === undefined && object.kind !== 'Namespace') built.push(`${source}: no namespace after kustomize`);
      }
      const imageNames = new Set((kustomization.images ?? []).map((i) => i.name));
      for (const m of kubectl.stdout.matchAll(/image:\s*(\S+)/g)) if (imageNames.has(m[1]!)) built.push(`image ${m[1]} was not rewritten by kustomization images`);
    }
    const version = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).stdout.split('\n').find((l) => l.startsWith('Kustomize')) ?? '';
    results.push({ name: 'deploy/k8s (kustomize build)', tool: `kubectl kustomize (${version.trim() || 'kustomize'}) + ${packageVersion('kubernetes-models')}`, errors: built });
  }
  return { results, objects };
}

// ---------------------------------------------------------------------------------------------------

export async function validateDeploy(root: string = PROJECT_ROOT): Promise<CheckResult[]> {
  const results: CheckResult[] = [];

  const dockerfileText = readFileSync(join(root, 'Dockerfile'), 'utf8');
  results.push({ name: 'Dockerfile', tool: `${packageVersion('dockerfile-utils')} validate() + own rules over ${packageVersion('dockerfile-ast')}`, errors: validateDockerfileText(dockerfileText) });
  results.push({ name: '.dockerignore / build context', tool: 'own check (Docker .dockerignore semantics)', errors: validateBuildContext(root, dockerfileText) });

  const composeText = readFileSync(join(root, 'compose.yaml'), 'utf8');
  results.push({ name: 'compose.yaml', tool: `Compose Specification schema (${relative(root, composeSchemaFile())}) with ${packageVersion('ajv')}; ${packageVersion('dclint')} rules`, errors: validateComposeText(composeText) });
  results.push({ name: 'compose.yaml variables and paths', tool: 'own check against deploy/compose/.env.example', errors: validateComposeProject(root, composeText) });

  results.push(...validateK8sDirectory(root).results);
  return results;
}

async function main(): Promise<void> {
  const results = await validateDeploy();
  let failed = 0;
  for (const r of results) {
    const status = r.skipped ? `skipped: ${r.skipped}` : r.errors.length ? `${r.errors.length} problem(s)` : 'ok';
    console.log(`${r.errors.length ? 'FAIL' : r.skipped ? 'SKIP' : 'ok  '} ${r.name} [${r.tool}]${r.errors.length || r.skipped ? `: ${status}` : ''}`);
    for (const e of r.errors) console.log(`     - ${e}`);
    failed += r.errors.length;
  }
  if (failed) process.exit(1);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(`validate-deploy: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    process.exit(1);
  });
}
