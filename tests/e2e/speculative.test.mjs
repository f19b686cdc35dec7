// Speculative decoding through the server: a model configured with prompt lookup answers
// exactly what the plain configuration answers at temperature 0 (streamed and not), /metrics
// counts the proposals, and a draft model with another vocabulary stops start-up with a message
// naming both models.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';

import { API_KEY, defaultModelPath, freePort, metric, skipReason, startServer, toolModelPath } from './server.mjs';

const skip = skipReason();
const prompts = [
  'Count from 1 to 15, separated by commas.',
  'Repeat this sentence twice: the quick brown fox jumps over the lazy dog.',
  'Write a Python function that adds two numbers.',
];

async function answers(client, stream) {
  const out = [];
  for (const content of prompts) {
    const req = { model: 'default', temperature: 0, max_tokens: 48, messages: [{ role: 'user', content }] };
    if (!stream) {
      const r = await client.chat.completions.create(req);
      out.push([r.choices[0].message.content, r.choices[0].finish_reason, r.usage.completion_tokens]);
      continue;
    }
    let text = '';
    let finish = null;
    for await (const chunk of await client.chat.completions.create({ ...req, stream: true })) {
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    out.push([text, finish]);
  }
  return out;
}

describe('speculative decoding through the server', { skip: skip ?? false, timeout: 300_000 }, () => {
  let plain;
  let spec;
  before(async () => {
    plain = await startServer();
    spec = await startServer({ model: { speculative: { mode: 'ngram', max_k: 6 } } });
  });
  after(async () => {
    assert.equal(await plain.stop(), 0, plain.log());
    assert.equal(await spec.stop(), 0, spec.log());
  });

  test('greedy answers equal the plain server\'s, streamed and not', async () => {
    const client = (s) => new OpenAI({ apiKey: API_KEY, baseURL: `${s.baseURL}/v1`, maxRetries: 0 });
    const before = await metric(spec.baseURL, 'toolgate:spec_proposed_tokens_total');
    assert.deepEqual(await answers(client(spec), false), await answers(client(plain), false));
    assert.deepEqual(await answers(client(spec), true), await answers(client(plain), true));
    const proposed = await metric(spec.baseURL, 'toolgate:spec_proposed_tokens_total');
    const accepted = await metric(spec.baseURL, 'toolgate:spec_accepted_tokens_total');
    assert.ok(proposed > before, `proposed ${proposed}`);
    assert.ok(accepted > 0 && accepted <= proposed, `accepted ${accepted} of ${proposed}`);
    assert.equal(await metric(plain.baseURL, 'toolgate:spec_proposed_tokens_total'), 0);
  });
});

describe('draft model checks', { skip: (skip ?? skipReason(toolModelPath())) ?? false, timeout: 120_000 }, () => {
  test('a draft with another vocabulary stops start-up naming both models', async () => {
    const port = await freePort();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'toolgate-spec-'));
    const file = path.join(dir, 'toolgate.yaml');
    writeFileSync(file, JSON.stringify({
      server: { host: '127.0.0.1', port },
      models: [
        { id: 'qwen', path: toolModelPath(), draft: 'smol' },
        { id: 'smol', path: defaultModelPath() },
      ],
    }));
    const r = spawnSync(process.env.TOOLGATE_BIN, ['--config', file], { encoding: 'utf8', timeout: 100_000 });
    const log = r.stdout + r.stderr;
    assert.notEqual(r.status, 0, log);
    assert.match(log, /model 'qwen' with draft model 'smol'/, log);
    assert.match(log, /vocabulary sizes differ/, log);
  });
});
