// Starts the real toolgate binary for end-to-end tests and stops it afterwards.
// TOOLGATE_BIN: the server binary; TOOLGATE_MODELS_DIR: where the GGUF models are.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';

export const API_KEY = 'sk-toolgate-e2e';

export function defaultModelPath() {
  const dir = process.env.TOOLGATE_MODELS_DIR ?? '';
  return path.join(dir, 'SmolLM2-135M-Instruct-Q4_1.gguf');
}

export function toolModelPath() {
  const dir = process.env.TOOLGATE_MODELS_DIR ?? '';
  return path.join(dir, 'Qwen2.5-Coder-0.5B-Instruct-Q4_K_M.gguf');
}

// The agent model: Qwen2.5-Coder-1.5B, the smallest verified model that finishes multi-step
// tool loops (the 0.5B one keeps calling tools after the last result; see agent_loop.test.mjs).
export function agentModelPath() {
  const dir = process.env.TOOLGATE_MODELS_DIR ?? '';
  return path.join(dir, 'Qwen2.5-Coder-1.5B-Instruct-Q4_K_M.gguf');
}

// Why a test suite is skipped, or null when the binary and model are there.
export function skipReason(modelPath = defaultModelPath()) {
  const bin = process.env.TOOLGATE_BIN;
  if (!bin || !existsSync(bin)) return 'TOOLGATE_BIN is not set to a built toolgate binary';
  if (!existsSync(modelPath)) return `model missing: ${modelPath}`;
  return null;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Writes a config (JSON is YAML: no YAML writer needed) into a fresh temp dir; returns its path.
function writeConfig(config) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'toolgate-e2e-'));
  const configPath = path.join(dir, 'toolgate.yaml');
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  return configPath;
}

// Spawns toolgate with `args`, waits until /health on `port` answers 200, and returns a handle
// { port, baseURL, log(), stop() }. Throws with the server's log if it exits or stays unhealthy.
// With `terminal`, toolgate runs on a pseudo-terminal (util-linux `script`), as in an operator's shell.
// `cwd`: the server's working directory (where a relative store path lands).
// `tls`: { ca } when the config has server.tls: the server is then reached at https://localhost
// and its health is checked trusting `ca` (PEM text).
async function launch(args, port, timeoutMs = 120_000, { terminal = false, cwd = undefined, tls = undefined } = {}) {
  const quote = (a) => `'${String(a).replaceAll("'", "'\\''")}'`;
  const child = terminal
    ? spawn('script', ['-qfec', [process.env.TOOLGATE_BIN, ...args].map(quote).join(' '), '/dev/null'],
      { stdio: ['ignore', 'pipe', 'pipe'], cwd })
    : spawn(process.env.TOOLGATE_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const baseURL = tls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`;
  const healthStatus = tls
    ? () => new Promise((resolve, reject) => {
      https.get(`${baseURL}/health`, { ca: tls.ca }, (res) => { res.resume(); resolve(res.statusCode); })
        .on('error', reject);
    })
    : async () => (await fetch(`${baseURL}/health`)).status;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`toolgate exited early (${child.exitCode}):\n${log}`);
    if (Date.now() >= deadline) {
      child.kill('SIGKILL');
      throw new Error(`toolgate did not become healthy:\n${log}`);
    }
    try {
      if ((await healthStatus()) === 200) break;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    port,
    baseURL,
    log: () => log,
    // Sends `signal` (default SIGKILL: a crash) and resolves once the process is gone.
    kill(signal = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      const exited = new Promise((resolve) => child.once('exit', () => resolve()));
      child.kill(signal);
      return exited;
    },
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

// Writes a deployment config for one model and starts `toolgate --config` on a free port.
// `server` keys are merged into the config's server section.
export async function startServer({ server = {}, model = {}, tools = undefined } = {}) {
  const port = await freePort();
  const config = {
    server: {
      host: '127.0.0.1', port, api_keys: [API_KEY], max_body_bytes: 256 * 1024,
      max_concurrent_requests: 8, max_queue: 32, ...server,
    },
    engine: { kv_budget_bytes: 64 * 1024 * 1024 },
    models: [{ id: 'smollm2-135m-instruct', path: defaultModelPath(), aliases: ['default'], ...model }],
  };
  if (tools) config.tools = tools;
  return launch(['--config', writeConfig(config)], port);
}

// Reads one metric sample ("name{labels} value") from /metrics; sums over label sets.
export async function metric(baseURL, name) {
  const text = await (await fetch(`${baseURL}/metrics`)).text();
  let sum = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = line.match(/^([^{\s]+)(\{[^}]*\})?\s+(\S+)$/);
    if (m && m[1] === name) sum = (sum ?? 0) + Number(m[3]);
  }
  return sum;
}

// Starts `toolgate --config` with a whole deployment config as given.
// `config.server.port` must be set (see freePort()).
export async function startServerWithConfig(config, { terminal = false, tls = undefined } = {}) {
  return launch(['--config', writeConfig(config)], config.server.port, 120_000, { terminal, tls });
}

// Starts `toolgate --config <configPath> --port <free port> [...extraArgs]` for a config file
// that already exists (e.g. config/default.yaml, as ./scripts/serve runs it); the CLI's --port
// overrides the file's. Same handle as startServer().
export async function startServerFromConfig(configPath, extraArgs = [], { cwd = undefined } = {}) {
  const port = await freePort();
  return launch(['--config', configPath, '--port', String(port), ...extraArgs], port, 180_000, { cwd });
}
