import assert from 'node:assert/strict';
import { test } from 'node:test';
import { methods } from '../protocol/index.js';
import { buildRoutes, type Services } from './routes.js';

test('every protocol method has a route, and every route a protocol method', () => {
  // Building the table touches no service; the handlers are only called per request.
  const routes = buildRoutes({} as Services);
  assert.deepEqual([...routes.keys()].sort(), [...methods.keys()].sort());
  for (const [name, route] of routes) assert.equal(route.spec, methods.get(name), name);
});
