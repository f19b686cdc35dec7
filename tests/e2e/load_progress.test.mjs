// Model loading as an operator sees it: on a terminal a progress bar is drawn in place while the
// weights are read and prepared; in a log (no terminal) only plain lines, with the load time and
// the memory the weights and the KV cache take.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { defaultModelPath, freePort, skipReason, startServerWithConfig, toolModelPath } from './server.mjs';

const skip = skipReason(toolModelPath()) ?? skipReason(defaultModelPath());

async function loadBoth({ terminal }) {
  const port = await freePort();
  const server = await startServerWithConfig({
    server: { host: '127.0.0.1', port },
    logging: { level: 'info', access_log: false },
    models: [
      { id: 'small', path: defaultModelPath() },
      { id: 'tools', path: toolModelPath() },
    ],
  }, { terminal });
  const log = server.log();
  await server.stop();
  return log;
}

// "\r\x1b[K<model>  reading   [####...] 100%  468/468 MiB" — the bar's frames.
const frame = (model, stage) => new RegExp(`\\r\\x1b\\[K${model}  ${stage}\\s+\\[[#.]{30}\\]\\s+(\\d+)%`, 'g');

describe('model loading progress', { skip: skip ?? false, timeout: 300_000 }, () => {
  test('a terminal gets a progress bar per model that reaches 100% and is erased', async () => {
    const log = await loadBoth({ terminal: true });
    for (const model of ['small', 'tools']) {
      const reading = [...log.matchAll(frame(model, 'reading'))].map((m) => Number(m[1]));
      assert.ok(reading.length >= 2, `no reading frames for ${model}:\n${JSON.stringify(log)}`);
      assert.equal(reading.at(-1), 100, JSON.stringify(reading));
      assert.deepEqual([...reading].sort((a, b) => a - b), reading, 'progress never goes back');
      const preparing = [...log.matchAll(frame(model, 'preparing'))].map((m) => Number(m[1]));
      assert.equal(preparing.at(-1), 100, JSON.stringify(log));
    }
    // The bar is erased before the "ready" line, which starts on a clean line.
    assert.match(log, /\r\x1b\[K\[[^\]]+\] \[[^\]]*info[^\]]*\] model 'tools' ready in [\d.]+ s/);
  });

  test('a log file gets plain lines with load time and memory, and no bar', async () => {
    const log = await loadBoth({ terminal: false });
    assert.ok(!log.includes('\r'), 'no carriage returns in a log');
    assert.ok(!log.includes('\x1b['), 'no terminal escapes in a log');
    for (const model of ['small', 'tools']) {
      assert.match(log, new RegExp(`loading model '${model}' from `));
      assert.match(log, new RegExp(`model '${model}' ready in [\\d.]+ s`));
      assert.match(log, new RegExp(`model '${model}' memory: weights \\d+ MiB .* KV cache \\d+ MiB`));
    }
  });
});
