#!/usr/bin/env bash
# The front gateway's added latency and CPU per request: one toolgate replica serving the
# default model, and a second toolgate in front of it with an upstream pool holding that
# replica. Each load runs against the replica directly and through the front, back to back, with
# bench/http_bench (open loop, paced):
#   - "non-generating": a chat completion the replica refuses at once (400, nothing generated):
#     the whole proxy path (forward, relay of the answer) without model time;
#   - "short completion": max_tokens 1.
# Prints one JSON object per run (latency percentiles, requests/s, the front's and the replica's
# CPU seconds per request, the load average).
#   bench/proxy_bench.sh [RATE_NON_GENERATING=1000] [RATE_COMPLETIONS=20] [SECONDS=10]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/build/release/gateway/toolgate"
bench="$root/build/release/bench/http_bench"
model="$root/models/SmolLM2-135M-Instruct-Q4_1.gguf"
rate_ng="${1:-1000}"
rate_c="${2:-20}"
seconds="${3:-10}"
dir="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
replica_port="$(free_port)"
front_port="$(free_port)"
cat >"$dir/replica.yaml" <<YAML
server: {port: $replica_port, max_concurrent_requests: 64, max_queue: 1024}
logging: {access_log: false}
engine: {kv_budget_bytes: 64MiB}
models: [{id: smol, path: "$model"}]
YAML
cat >"$dir/front.yaml" <<YAML
server: {port: $front_port, max_concurrent_requests: 256, max_queue: 4096}
logging: {access_log: false}
models:
  - id: smol
    upstream: {members: [{base_url: "http://127.0.0.1:$replica_port/v1"}]}
YAML
"$bin" --config "$dir/replica.yaml" >"$dir/replica.log" 2>&1 &
replica_pid=$!
pids+=("$replica_pid")
"$bin" --config "$dir/front.yaml" >"$dir/front.log" 2>&1 &
front_pid=$!
pids+=("$front_pid")
for port in "$replica_port" "$front_port"; do
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
    sleep 0.2
  done
done

echo '{"model":"smol","messages":"not a list"}' >"$dir/refused.json"
echo '{"model":"smol","messages":[{"role":"user","content":"Hi"}],"max_tokens":1}' >"$dir/short.json"

run() {  # name port body rate connections
  local out
  out="$("$bench" --port "$2" --path /v1/chat/completions --body-file "$dir/$3" --rate "$4" \
    --connections "$5" --seconds "$seconds" --cpu-pid "$front_pid" 2>&1 || true)"
  local replica_cpu
  echo "{\"run\": \"$1\", \"result\": $out}"
}
# CPU: --cpu-pid reports the front's CPU; for the direct runs it stays ~0 (the front is idle),
# which is the check that nothing else ran in it.
run "non-generating direct" "$replica_port" refused.json "$rate_ng" 16
run "non-generating via front" "$front_port" refused.json "$rate_ng" 16
run "short completion direct" "$replica_port" short.json "$rate_c" 4
run "short completion via front" "$front_port" short.json "$rate_c" 4
