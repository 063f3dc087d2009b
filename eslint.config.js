// Flat config: typescript-eslint's recommended rules over the whole tree, and the layering of
// docs/ARCHITECTURE.md ("Layers, and who may import whom") as import bans, so a wrong-way import
// fails `npm run lint` instead of waiting for a reviewer. test/architecture/layering.test.ts proves
// each ban fires.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Import sources (as written: relative paths) of each layer. Matched on path segments, so the
// patterns hold for any service folder (`internal/<name>-service/`) and any depth of `../`.
const LAYER = {
  router: '(^|/)routers/',
  controller: '(^|/)controllers/',
  service: '(^|/)services/',
  repository: '(^|/)repository/',
  middleware: '(^|/)middleware/',
  // The composition file and the entry point: only they wire; nothing they build imports them.
  composition: '(^|/)app\\.js$|(^|/)cmd/',
  // A service's own folder, or the settings file of one, seen from outside it.
  serviceFolder: '(^|/)[a-z0-9-]+-service(/|$)',
  fastify: '^(fastify|@fastify/.*)$',
  // internal/shared beyond utils: the Fastify base, its middleware and lifecycle.
  sharedWeb: '(^|/)shared/(?!utils/)',
};

const ban = (layer, what, why) => ({ regex: LAYER[what], message: `${layer} must not import ${what} code: ${why}` });

/** One block per layer; the bans of a layer are its whole `no-restricted-imports` setting. */
const layer = (files, ...patterns) => ({
  files,
  ignores: ['**/*.test.ts'],
  rules: { 'no-restricted-imports': ['error', { patterns }] },
});

const UP = 'calls go router → controller → service → repository, never back up';

export default tseslint.config(
  { ignores: ['dist/', 'var/', 'node_modules/', 'coverage/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': ['error', { allow: ['error'] }],
    },
  },
  { files: ['scripts/**', 'bench/**'], rules: { 'no-console': 'off' } },
  // Tests read JSON answers loosely; the OpenAPI checker, not the type system, vouches for their shape.
  { files: ['test/**', '**/*.test.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },

  // Layering (docs/ARCHITECTURE.md). Tests beside the code are exempt: they may build any layer.
  layer(
    ['internal/*-service/routers/**'],
    ban('a router', 'repository', 'it reaches data through its controller and service'),
    ban('a router', 'composition', 'app.ts builds routers, not the other way round'),
  ),
  layer(
    ['internal/*-service/controllers/**'],
    ban('a controller', 'repository', 'it calls one service, which owns the data access and its transaction'),
    ban('a controller', 'router', UP),
    ban('a controller', 'composition', 'app.ts passes it what it needs'),
  ),
  layer(
    ['internal/*-service/middleware/**'],
    ban('a middleware', 'repository', 'it asks a service'),
    ban('a middleware', 'router', UP),
    ban('a middleware', 'controller', UP),
    ban('a middleware', 'composition', 'app.ts passes it what it needs'),
  ),
  layer(
    ['internal/*-service/services/**'],
    ban('a service', 'controller', UP),
    ban('a service', 'router', UP),
    ban('a service', 'middleware', 'services know no HTTP'),
    ban('a service', 'fastify', 'services know no HTTP; the rules must run without a server'),
    ban('a service', 'sharedWeb', 'only internal/shared/utils is below the services'),
    ban('a service', 'composition', 'app.ts passes it what it needs'),
  ),
  layer(
    ['internal/*-service/repository/**'],
    ban('a repository', 'service', `${UP}; a repository is SQL only`),
    ban('a repository', 'controller', UP),
    ban('a repository', 'router', UP),
    ban('a repository', 'middleware', UP),
    ban('a repository', 'fastify', 'a repository is SQL only'),
    ban('a repository', 'sharedWeb', 'only internal/shared/utils is below the repositories'),
    ban('a repository', 'composition', 'app.ts passes it what it needs'),
  ),
  layer(
    ['internal/*-service/models/**'],
    ban('a model', 'repository', 'models are shapes, used by every layer, and depend on none'),
    ban('a model', 'service', 'models are shapes, used by every layer, and depend on none'),
    ban('a model', 'controller', UP),
    ban('a model', 'router', UP),
    ban('a model', 'middleware', UP),
    ban('a model', 'composition', 'models are shapes'),
  ),
  layer(
    ['internal/shared/**'],
    ban('internal/shared', 'serviceFolder', 'shared code serves every service and knows none of them'),
    ban('internal/shared', 'composition', 'shared code serves every service and knows none of them'),
  ),
);
