import assert from 'node:assert/strict';
import { test } from 'node:test';
import { methods } from '../protocol/index.js';
import { CANCELLABLE } from './client.js';

// The CLI cannot read the protocol's policies (that would load zod at start-up), so it keeps
// its own list: a method that gains or loses 'cancel' must change both, or Ctrl-C during it
// would either not wait for its cleanup or wait for a call bangerd never cancels.
test("the CLI's cancellable methods are exactly the protocol's 'cancel' methods", () => {
  const cancel = [...methods.values()]
    .filter((m) => m.onDisconnect === 'cancel')
    .map((m) => m.name);
  assert.deepEqual([...CANCELLABLE].sort(), cancel.sort());
});
