#!/usr/bin/env node
// Tool-call quality of a served model: for a fixed set of prompts that each call for one tool,
// how often does the response carry a well-formed call (the expected function, arguments that
// parse as JSON and validate against the tool's schema), a malformed one, or no call at all?
//
// Runs against an already started server and prints one JSON object.
//   node bench/tool_call_quality.mjs --base-url http://127.0.0.1:8080/v1 \
//        --model qwen2.5-coder-0.5b-instruct [--api-key KEY] [--max-tokens 160] [--verbose]
//        [--temperature T --seed S]
// Every request offers all tools, tool_choice "auto", temperature 0 unless --temperature.
//
// --compare MODEL.gguf starts toolgate itself (TOOLGATE_BIN, default
// build/release/gateway/toolgate) twice on that model, with grammar-constrained tool calls
// (constrain_tool_calls: true, the default) and without, runs the prompts on both and prints
// both results plus the well-formed shares side by side.
import path from 'node:path';
import OpenAI from 'openai';

function parseArgs(argv) {
  const opts = { baseURL: 'http://127.0.0.1:8080/v1', model: 'qwen2.5-coder-0.5b-instruct',
    apiKey: process.env.TOOLGATE_API_KEY ?? 'unused', maxTokens: 160, verbose: false,
    temperature: 0, seed: undefined, compare: undefined };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--base-url') opts.baseURL = next();
    else if (a === '--model') opts.model = next();
    else if (a === '--api-key') opts.apiKey = next();
    else if (a === '--max-tokens') opts.maxTokens = Number(next());
    else if (a === '--verbose') opts.verbose = true;
    else if (a === '--temperature') opts.temperature = Number(next());
    else if (a === '--seed') opts.seed = Number(next());
    else if (a === '--compare') opts.compare = next();
    else throw new Error(`unknown argument ${a}`);
  }
  return opts;
}

const fn = (name, description, properties, required) => ({
  type: 'function',
  function: { name, description, parameters: { type: 'object', properties, required } },
});

const TOOLS = [
  fn('get_weather', 'Get the current weather for a city', {
    city: { type: 'string', description: 'City name, e.g. Paris' },
    unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
  }, ['city']),
  fn('calculator', 'Evaluate an arithmetic expression and return the number', {
    expression: { type: 'string', description: 'The expression, e.g. "(3 + 5) * 2"' },
  }, ['expression']),
  fn('web_search', 'Search the web and return the top results', {
    query: { type: 'string' },
    max_results: { type: 'integer', minimum: 1, maximum: 20 },
  }, ['query']),
  fn('convert_units', 'Convert a value from one unit to another', {
    value: { type: 'number' },
    from_unit: { type: 'string', description: 'Unit of the value, e.g. km' },
    to_unit: { type: 'string', description: 'Target unit, e.g. mi' },
  }, ['value', 'from_unit', 'to_unit']),
  fn('create_calendar_event', 'Create an event in the user\'s calendar', {
    title: { type: 'string' },
    date: { type: 'string', description: 'Date as YYYY-MM-DD' },
    time: { type: 'string', description: 'Start time as HH:MM (24h)' },
    duration_minutes: { type: 'integer', minimum: 1 },
  }, ['title', 'date']),
  fn('get_stock_price', 'Get the latest price of a stock', {
    symbol: { type: 'string', description: 'Ticker symbol, e.g. AAPL' },
  }, ['symbol']),
  fn('send_email', 'Send an email', {
    to: { type: 'string', description: 'Recipient address' },
    subject: { type: 'string' },
    body: { type: 'string' },
  }, ['to', 'subject', 'body']),
  fn('translate_text', 'Translate text into another language', {
    text: { type: 'string' },
    target_language: { type: 'string', description: 'Language name or ISO code' },
  }, ['text', 'target_language']),
];

// [prompt, expected tool]
const PROMPTS = [
  ['What is the weather like in Paris right now?', 'get_weather'],
  ['Is it raining in Tokyo? Give me the temperature in fahrenheit.', 'get_weather'],
  ['How cold is it in Oslo today?', 'get_weather'],
  ['What is 1234 * 5678?', 'calculator'],
  ['Calculate (17 + 25) / 3.', 'calculator'],
  ['What is the square root of 144 plus 10?', 'calculator'],
  ['Search the web for the latest news about the James Webb telescope.', 'web_search'],
  ['Find me 5 articles about sourdough baking.', 'web_search'],
  ['Look up who won the 2022 football World Cup.', 'web_search'],
  ['Convert 10 kilometers to miles.', 'convert_units'],
  ['How many pounds is 72 kg?', 'convert_units'],
  ['Convert 350 degrees fahrenheit to celsius.', 'convert_units'],
  ['Schedule a meeting called "Design review" on 2025-03-14 at 15:00 for 45 minutes.', 'create_calendar_event'],
  ['Add "Dentist" to my calendar on 2025-06-02.', 'create_calendar_event'],
  ['Put a lunch with Sam in my calendar for 2025-04-01 at 12:30.', 'create_calendar_event'],
  ['What is Apple\'s stock price?', 'get_stock_price'],
  ['How much is one share of MSFT trading at?', 'get_stock_price'],
  ['Check the current price of Tesla stock (TSLA).', 'get_stock_price'],
  ['Send an email to bob@example.com with subject "Lunch" saying I will be 10 minutes late.', 'send_email'],
  ['Email alice@example.org: subject "Report", body "The Q3 report is attached."', 'send_email'],
  ['Translate "Good morning, how are you?" into French.', 'translate_text'],
  ['How do you say "thank you very much" in Japanese?', 'translate_text'],
  ['Translate "Where is the train station?" to German.', 'translate_text'],
  ['What will the weather be in New York? Use celsius.', 'get_weather'],
];

// The subset of JSON Schema the tools above use.
function validate(schema, value, where = '$') {
  const errors = [];
  const t = schema.type;
  const typeOk = {
    object: () => value !== null && typeof value === 'object' && !Array.isArray(value),
    string: () => typeof value === 'string',
    number: () => typeof value === 'number' && Number.isFinite(value),
    integer: () => Number.isInteger(value),
    boolean: () => typeof value === 'boolean',
    array: () => Array.isArray(value),
  };
  if (t && !typeOk[t]()) return [`${where}: expected ${t}, got ${JSON.stringify(value)}`];
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${where}: ${JSON.stringify(value)} not in enum`);
  if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${where}: below minimum`);
  if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${where}: above maximum`);
  if (t === 'object') {
    for (const k of schema.required ?? []) if (!(k in value)) errors.push(`${where}.${k}: required`);
    for (const [k, v] of Object.entries(value)) {
      const sub = schema.properties?.[k];
      if (sub) errors.push(...validate(sub, v, `${where}.${k}`));
      else if (schema.additionalProperties === false) errors.push(`${where}.${k}: not allowed`);
    }
  }
  return errors;
}

// A call the parser should have caught but that reached the client as text.
const looksLikeCall = (content) => /<tool_call>|"name"\s*:\s*"[^"]+"\s*,\s*"(arguments|parameters)"/.test(content ?? '');

function classify(expected, message) {
  const calls = message.tool_calls ?? [];
  if (calls.length === 0) {
    return { outcome: 'no_call', reason: looksLikeCall(message.content) ? 'call_left_in_content' : 'answered_in_text' };
  }
  const call = calls[0];
  const tool = TOOLS.find((t) => t.function.name === call.function.name);
  if (!tool) return { outcome: 'malformed', reason: 'unknown_function' };
  let args;
  try {
    args = JSON.parse(call.function.arguments);
  } catch {
    return { outcome: 'malformed', reason: 'arguments_not_json' };
  }
  const errors = validate(tool.function.parameters, args);
  if (errors.length) return { outcome: 'malformed', reason: 'schema_violation', errors };
  if (call.function.name !== expected) return { outcome: 'malformed', reason: 'wrong_function' };
  return { outcome: 'well_formed' };
}

async function run(opts) {
  const client = new OpenAI({ apiKey: opts.apiKey, baseURL: opts.baseURL, maxRetries: 0, timeout: 300_000 });
  const counts = { well_formed: 0, malformed: 0, no_call: 0 };
  const reasons = {};
  const cases = [];
  const started = Date.now();
  for (const [prompt, expected] of PROMPTS) {
    const r = await client.chat.completions.create({
      model: opts.model, messages: [{ role: 'user', content: prompt }], tools: TOOLS,
      tool_choice: 'auto', temperature: opts.temperature, max_tokens: opts.maxTokens,
      ...(opts.seed === undefined ? {} : { seed: opts.seed }),
    });
    const msg = r.choices[0].message;
    const c = classify(expected, msg);
    counts[c.outcome] += 1;
    if (c.reason) reasons[c.reason] = (reasons[c.reason] ?? 0) + 1;
    const entry = { prompt, expected, outcome: c.outcome, reason: c.reason,
      calls: (msg.tool_calls ?? []).map((t) => `${t.function.name}(${t.function.arguments})`) };
    if (c.errors) entry.errors = c.errors;
    if (opts.verbose || c.outcome !== 'well_formed') entry.content = msg.content;
    cases.push(entry);
  }
  const n = PROMPTS.length;
  return {
    model: opts.model, prompts: n, tools: TOOLS.length, tool_choice: 'auto',
    temperature: opts.temperature, seed: opts.seed,
    well_formed: counts.well_formed, malformed: counts.malformed, no_call: counts.no_call,
    well_formed_share: Number((counts.well_formed / n).toFixed(3)),
    reasons, seconds: Math.round((Date.now() - started) / 1000), cases,
  };
}

// Serves `modelPath` with constrain_tool_calls on and off in turn and runs the prompts on each.
async function compare(opts) {
  const { freePort, startServerWithConfig } = await import('../tests/e2e/server.mjs');
  process.env.TOOLGATE_BIN ??= 'build/release/gateway/toolgate';
  const results = {};
  for (const constrained of [true, false]) {
    const port = await freePort();
    const apiKey = 'sk-bench';
    const server = await startServerWithConfig({
      server: { host: '127.0.0.1', port, api_keys: [apiKey] },
      models: [{ id: 'bench-model', path: path.resolve(opts.compare), constrain_tool_calls: constrained }],
    });
    try {
      results[constrained ? 'constrained' : 'unconstrained'] = await run({
        ...opts, baseURL: `${server.baseURL}/v1`, apiKey, model: 'bench-model',
      });
    } finally {
      await server.stop();
    }
  }
  return {
    model: opts.compare, temperature: opts.temperature, seed: opts.seed,
    well_formed_share: {
      constrained: results.constrained.well_formed_share,
      unconstrained: results.unconstrained.well_formed_share,
    },
    ...results,
  };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const out = opts.compare ? await compare(opts) : await run(opts);
  console.log(JSON.stringify(out, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
