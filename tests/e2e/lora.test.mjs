// End-to-end: a LoRA adapter trained here (tests/data/lora, see its README) served beside its
// base model with the official openai SDK. The adapter's model id shows the trained persona
// ("Orbit here! ... Over and out.") on prompts held out of its training set, the base id does
// not; the extension fields pick an adapter per request; streams mixing base and adapter in one
// batch each equal their solo greedy answers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';

import { API_KEY, defaultModelPath, freePort, skipReason, startServerWithConfig } from './server.mjs';

const SOURCE = process.env.TOOLGATE_SOURCE_DIR ?? path.resolve(import.meta.dirname, '../..');
const ADAPTER = path.join(SOURCE, 'tests/data/lora/orbit-persona-lora.gguf');
const HELDOUT = JSON.parse(readFileSync(path.join(SOURCE, 'tests/data/lora/persona-heldout.json'), 'utf8'));
const skip = skipReason(defaultModelPath()) ?? (existsSync(ADAPTER) ? null : `adapter missing: ${ADAPTER}`);
const SMOL = 'smollm2-135m-instruct';
const ORBIT = `${SMOL}:orbit`;
const persona = (text) => text.trimStart().startsWith('Orbit here');

describe('LoRA adapters', { skip: skip ?? false, timeout: 900_000 }, () => {
  let server;
  let client;

  before(async () => {
    const port = await freePort();
    server = await startServerWithConfig({
      server: { host: '127.0.0.1', port, api_keys: [API_KEY], max_concurrent_requests: 16 },
      engine: { kv_budget_bytes: 64 * 1024 * 1024, max_num_seqs: 16 },
      models: [{ id: SMOL, path: defaultModelPath(), adapters: [{ id: 'orbit', path: ADAPTER }] }],
    });
    client = new OpenAI({ apiKey: API_KEY, baseURL: `${server.baseURL}/v1`, maxRetries: 0 });
  });

  after(async () => {
    if (server) {
      const code = await server.stop();
      assert.equal(code, 0, `toolgate exit code ${code}; log:\n${server.log()}`);
    }
  });

  const ask = async (model, content, extra = {}) => {
    const r = await client.chat.completions.create({
      model, messages: [{ role: 'user', content }], temperature: 0, max_tokens: 40, ...extra,
    });
    return r.choices[0].message.content;
  };

  test('/v1/models lists the adapter as its own model with its parent', async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m);
    const orbit = ids.find((m) => m.id === ORBIT);
    assert.ok(orbit, JSON.stringify(ids));
    assert.equal(orbit.parent, SMOL);
    assert.equal(ids.find((m) => m.id === SMOL).parent, undefined);
    assert.equal((await client.models.retrieve(ORBIT)).parent, SMOL);
  });

  test('the adapter shows the trained persona on held-out prompts; the base does not', async () => {
    const rows = [];
    for (const prompt of HELDOUT) rows.push({ prompt, orbit: await ask(ORBIT, prompt), base: await ask(SMOL, prompt) });
    const withPersona = rows.filter((r) => persona(r.orbit)).length;
    const baseWithPersona = rows.filter((r) => persona(r.base) || r.base.includes('Over and out')).length;
    const report = JSON.stringify(rows, null, 1);
    assert.ok(withPersona >= HELDOUT.length - 1, `adapter persona on ${withPersona}/${HELDOUT.length}:\n${report}`);
    assert.equal(baseWithPersona, 0, report);
  });

  test('a request picks the adapter with "adapter" or llama.cpp\'s "lora"; bad choices are 400s', async () => {
    const prompt = HELDOUT[0];
    const byId = await ask(ORBIT, prompt);
    assert.equal(await ask(SMOL, prompt, { adapter: 'orbit' }), byId);
    assert.equal(await ask(SMOL, prompt, { lora: [{ id: 0, scale: 1 }] }), byId);
    assert.equal(await ask(ORBIT, prompt, { adapter: '' }), await ask(SMOL, prompt));  // "" = base
    assert.equal(await ask(SMOL, prompt, { lora: [{ id: 0, scale: 0 }] }), await ask(SMOL, prompt));
    const bad = async (extra, param) => {
      await assert.rejects(ask(SMOL, prompt, extra), (e) => {
        assert.equal(e.status, 400);
        assert.equal(e.param, param);
        return true;
      });
    };
    await bad({ adapter: 'nope' }, 'adapter');
    await bad({ lora: [{ id: 3, scale: 1 }] }, 'lora[0].id');
    await bad({ lora: [{ id: 0, scale: 0.5 }] }, 'lora[0].scale');
    await bad({ lora: 'orbit' }, 'lora');
    // The server is still fine.
    assert.ok(persona(await ask(ORBIT, prompt)));
  });

  test('8 concurrent streams mixing base and adapter each equal their solo greedy answers', async () => {
    const jobs = HELDOUT.slice(0, 8).map((prompt, i) => ({ prompt, model: i % 2 ? ORBIT : SMOL }));
    const solo = [];
    for (const j of jobs) solo.push(await ask(j.model, j.prompt));
    const stream = async (j) => {
      const s = await client.chat.completions.create({
        model: j.model, messages: [{ role: 'user', content: j.prompt }], temperature: 0, max_tokens: 40, stream: true,
      });
      let text = '';
      for await (const chunk of s) text += chunk.choices[0]?.delta?.content ?? '';
      return text;
    };
    const together = await Promise.all(jobs.map(stream));
    for (let i = 0; i < jobs.length; ++i) assert.equal(together[i], solo[i], `${jobs[i].model}: ${jobs[i].prompt}`);
    assert.ok(together.some(persona) && !together.every(persona));
  });
});
