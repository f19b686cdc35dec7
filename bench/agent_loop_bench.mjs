// Agent-loop latency with and without speculative decoding, Toolgate vs llama.cpp's server.
//
// The seed-style loop of tests/e2e/agent_loop.test.mjs: the client declares add and mul, asks
// "(3 + 5) * 2" worded as steps, executes the model's tool calls itself and sends the results
// back until the model answers (temperature 0, so every server runs the same rounds). One loop
// = 3 chat completions on Qwen2.5-Coder-1.5B. Each server configuration is started fresh, runs
// one warm-up loop (prompt caches filled, as in a long-running agent whose system prompt and
// tools are fixed), then --loops measured loops back to back; then it is stopped.
//
// Configurations: Toolgate speculative off / ngram / draft (Qwen2.5-Coder-0.5B), then
// llama-server with -md (its own draft) and plain. Prints one JSON line per configuration
// (wall ms per loop: median/min/max, completion tokens, rounds, answer, speculative acceptance,
// load average) and a summary line with the ratios.
//
//   node bench/agent_loop_bench.mjs [--loops 3] [--threads 2] [--only toolgate-off,llama-draft]
//     env: TOOLGATE_BIN (default build/release/gateway/toolgate), TOOLGATE_MODELS_DIR (models/),
//          LLAMA_BIN_DIR (/work/ref/llama.cpp/build/bin)
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import OpenAI from 'openai';

const { values: args } = parseArgs({
  options: {
    loops: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    only: { type: 'string', default: '' },
    'max-k': { type: 'string', default: '8' },
  },
});
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const bin = process.env.TOOLGATE_BIN ?? path.join(root, 'build/release/gateway/toolgate');
const modelsDir = process.env.TOOLGATE_MODELS_DIR ?? path.join(root, 'models');
const llamaDir = process.env.LLAMA_BIN_DIR ?? '/work/ref/llama.cpp/build/bin';
const target = path.join(modelsDir, 'Qwen2.5-Coder-1.5B-Instruct-Q4_K_M.gguf');
const draft = path.join(modelsDir, 'Qwen2.5-Coder-0.5B-Instruct-Q4_K_M.gguf');
const loops = Number(args.loops);
const threads = Number(args.threads);
const ctx = 4096;

const question =
  'First add 3 and 5 with the add tool. Then multiply the sum by 2 with the mul tool. Tell me the result.';
const binaryTool = (name, description) => ({
  type: 'function',
  function: {
    name, description,
    parameters: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] },
  },
});
const tools = [binaryTool('add', 'Add two numbers: returns a + b'), binaryTool('mul', 'Multiply two numbers: returns a * b')];
const impl = { add: ({ a, b }) => a + b, mul: ({ a, b }) => a * b };

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function start(cmd, argv, env, port) {
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const deadline = Date.now() + 600_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${cmd} exited (${child.exitCode}):\n${log.slice(-4000)}`);
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error(`${cmd} never became healthy`); }
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).status === 200) break;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    log: () => log,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
    }),
  };
}

async function startToolgate(mode) {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-bench-'));
  const agent = { id: 'agent', path: target, context_length: ctx };
  if (mode === 'draft') agent.draft = 'draft';
  if (mode !== 'off') agent.speculative = { mode, max_k: Number(args['max-k']) };
  const config = {
    server: { host: '127.0.0.1', port, web_ui: false },
    logging: { level: 'warn', access_log: false },
    engine: { threads, kv_budget_bytes: 512 * 1024 * 1024, max_num_seqs: 4 },
    models: [agent, ...(mode === 'draft' ? [{ id: 'draft', path: draft, context_length: ctx }] : [])],
    store: { enabled: false },
  };
  const file = path.join(dir, 'toolgate.yaml');
  writeFileSync(file, JSON.stringify(config));
  const proc = await start(bin, ['--config', file], {}, port);
  return { ...proc, port, model: 'agent', metrics: true };
}

async function startLlama(withDraft) {
  const port = await freePort();
  const argv = ['-m', target, '-c', String(ctx), '-t', String(threads), '-np', '1', '--port', String(port),
    '--no-webui', '--jinja', '--temp', '0'];
  if (withDraft) argv.push('-md', draft, '-td', String(threads));
  const proc = await start(path.join(llamaDir, 'llama-server'), argv, { LD_LIBRARY_PATH: llamaDir }, port);
  return { ...proc, port, model: 'agent', metrics: false };
}

async function specCounters(server) {
  if (!server.metrics) return null;
  const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
  const read = (name) => {
    let sum = 0;
    for (const line of text.split('\n')) {
      const m = line.match(/^([^{\s]+)(\{[^}]*\})?\s+(\S+)$/);
      if (m && m[1] === name) sum += Number(m[3]);
    }
    return sum;
  };
  return { proposed: read('toolgate:spec_proposed_tokens_total'), accepted: read('toolgate:spec_accepted_tokens_total') };
}

// One agent loop; returns wall ms, rounds, completion tokens, the answer and llama.cpp's
// draft counters when it reports them (timings.draft_n / draft_n_accepted).
async function agentLoop(client, model) {
  const messages = [{ role: 'user', content: question }];
  const t0 = performance.now();
  let tokens = 0, rounds = 0, answer = null, draftN = 0, draftAccepted = 0;
  const calls = [];
  for (let turn = 0; turn < 5 && answer === null; ++turn) {
    const r = await client.chat.completions.create({ model, temperature: 0, max_tokens: 128, tools, messages });
    ++rounds;
    tokens += r.usage?.completion_tokens ?? 0;
    draftN += r.timings?.draft_n ?? 0;
    draftAccepted += r.timings?.draft_n_accepted ?? 0;
    const msg = r.choices[0].message;
    if (!msg.tool_calls?.length) { answer = msg.content ?? ''; break; }
    messages.push({ role: 'assistant', content: msg.content ?? '', tool_calls: msg.tool_calls });
    for (const c of msg.tool_calls) {
      const a = JSON.parse(c.function.arguments);
      calls.push(`${c.function.name}(${a.a}, ${a.b})`);
      messages.push({ role: 'tool', tool_call_id: c.id, content: String(impl[c.function.name](a)) });
    }
  }
  return { ms: performance.now() - t0, rounds, tokens, answer, calls, draftN, draftAccepted };
}

const configs = [
  ['toolgate-off', () => startToolgate('off')],
  ['toolgate-ngram', () => startToolgate('ngram')],
  ['toolgate-draft', () => startToolgate('draft')],
  ['llama-draft', () => startLlama(true)],
  ['llama-plain', () => startLlama(false)],
].filter(([name]) => !args.only || args.only.split(',').includes(name));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = {};
for (const [name, launch] of configs) {
  const server = await launch();
  try {
    const client = new OpenAI({ apiKey: 'none', baseURL: `http://127.0.0.1:${server.port}/v1`, maxRetries: 0, timeout: 900_000 });
    const warm = await agentLoop(client, server.model);
    const before = await specCounters(server);
    const load_start = os.loadavg()[0];
    const runs = [];
    for (let i = 0; i < loops; ++i) runs.push(await agentLoop(client, server.model));
    const load_end = os.loadavg()[0];
    const after = await specCounters(server);
    const ms = runs.map((r) => r.ms);
    const line = {
      config: name,
      loop_ms_median: Math.round(median(ms)), loop_ms_min: Math.round(Math.min(...ms)), loop_ms_max: Math.round(Math.max(...ms)),
      warmup_ms: Math.round(warm.ms), rounds: runs[0].rounds, completion_tokens: runs[0].tokens,
      calls: runs[0].calls.join(' '), answer_has_16: runs.every((r) => (r.answer ?? '').includes('16')),
      same_tokens_every_loop: runs.every((r) => r.tokens === runs[0].tokens),
      load1_start: Number(load_start.toFixed(2)), load1_end: Number(load_end.toFixed(2)),
    };
    if (before && after && after.proposed > before.proposed) {
      line.spec_proposed = after.proposed - before.proposed;
      line.spec_accepted = after.accepted - before.accepted;
      line.acceptance = Number((line.spec_accepted / line.spec_proposed).toFixed(3));
    }
    const dn = runs.reduce((s, r) => s + r.draftN, 0);
    if (dn > 0) {
      line.spec_proposed = dn;
      line.spec_accepted = runs.reduce((s, r) => s + r.draftAccepted, 0);
      line.acceptance = Number((line.spec_accepted / dn).toFixed(3));
    }
    results[name] = line;
    console.log(JSON.stringify(line));
  } finally {
    await server.stop();
  }
}
const ratio = (a, b) => (results[a] && results[b] ? Number((results[a].loop_ms_median / results[b].loop_ms_median).toFixed(2)) : undefined);
console.log(JSON.stringify({
  summary: true,
  speedup_ngram_vs_off: ratio('toolgate-off', 'toolgate-ngram'),
  speedup_draft_vs_off: ratio('toolgate-off', 'toolgate-draft'),
  toolgate_draft_vs_llama_draft: ratio('llama-draft', 'toolgate-draft'),
  toolgate_ngram_vs_llama_draft: ratio('llama-draft', 'toolgate-ngram'),
  llama_draft_vs_llama_plain: ratio('llama-plain', 'llama-draft'),
}));
