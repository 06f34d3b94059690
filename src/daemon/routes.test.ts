import assert from 'node:assert/strict';
import { test } from 'node:test';
import { methods } from '../protocol/index.js';
import { buildRoutes, type Services } from './routes.js';

test('the routes are the protocol method list: one each, in order, with its spec', () => {
  // Building the table touches no service; the handlers are only called per request.
  const routes = buildRoutes({} as Services);
  assert.deepEqual(
    [...routes.keys()],
    methods.map((m) => m.name),
  );
  for (const spec of methods) assert.equal(routes.get(spec.name)?.spec, spec, spec.name);
  assert.equal(new Set(methods.map((m) => m.name)).size, methods.length, 'a name twice');
});
