#!/usr/bin/env bash
# The front gateway's added latency and CPU per request: one toolgate replica serving the
# default model, and two toolgate fronts with an upstream pool holding that replica: one with
# keep-alive connections to it (the default, `idle_connections: 16`), one opening a connection
# per request (`idle_connections: 0`, as before keep-alive). Each load runs against the replica
# directly and through both fronts, back to back, with bench/http_bench (open loop, paced):
#   - "non-generating": a chat completion the replica refuses at once (400, nothing generated):
#     the whole proxy path (forward, relay of the answer) without model time;
#   - "short completion": max_tokens 1.
# Prints one JSON object per run (latency percentiles, requests/s, the front's and the replica's
# CPU seconds per request, the load average).
#   bench/proxy_bench.sh [RATE_NON_GENERATING=1000] [RATE_COMPLETIONS=20] [SECONDS=10]
# (env PROXY_BENCH_PORT_BASE=P: listen on P, P+1, P+2 instead of free ports)
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
if [[ -n "${PROXY_BENCH_PORT_BASE:-}" ]]; then  # three ports from here (a shared machine's range)
  replica_port="$PROXY_BENCH_PORT_BASE"
  front_port="$((PROXY_BENCH_PORT_BASE + 1))"
  front_close_port="$((PROXY_BENCH_PORT_BASE + 2))"
else
  replica_port="$(free_port)"
  front_port="$(free_port)"
  front_close_port="$(free_port)"
fi
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
cat >"$dir/front_close.yaml" <<YAML
server: {port: $front_close_port, max_concurrent_requests: 256, max_queue: 4096}
logging: {access_log: false}
models:
  - id: smol
    upstream: {members: [{base_url: "http://127.0.0.1:$replica_port/v1"}], idle_connections: 0}
YAML
"$bin" --config "$dir/replica.yaml" >"$dir/replica.log" 2>&1 &
replica_pid=$!
pids+=("$replica_pid")
"$bin" --config "$dir/front.yaml" >"$dir/front.log" 2>&1 &
front_pid=$!
pids+=("$front_pid")
"$bin" --config "$dir/front_close.yaml" >"$dir/front_close.log" 2>&1 &
front_close_pid=$!
pids+=("$front_close_pid")
for port in "$replica_port" "$front_port" "$front_close_port"; do
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
    sleep 0.2
  done
done

echo '{"model":"smol","messages":"not a list"}' >"$dir/refused.json"
echo '{"model":"smol","messages":[{"role":"user","content":"Hi"}],"max_tokens":1}' >"$dir/short.json"

run() {  # name port body rate connections cpu-pid
  local out
  out="$("$bench" --port "$2" --path /v1/chat/completions --body-file "$dir/$3" --rate "$4" \
    --connections "$5" --seconds "$seconds" --cpu-pid "$6" 2>&1 || true)"
  echo "{\"run\": \"$1\", \"result\": $out}"
}
# CPU: --cpu-pid reports the keep-alive front's CPU (the other front's on its own runs); for
# the direct runs it stays ~0 (the front is idle), which is the check that nothing else ran in it.
run "non-generating direct" "$replica_port" refused.json "$rate_ng" 16 "$front_pid"
run "non-generating via front" "$front_port" refused.json "$rate_ng" 16 "$front_pid"
run "non-generating via front, no keep-alive" "$front_close_port" refused.json "$rate_ng" 16 \
  "$front_close_pid"
run "short completion direct" "$replica_port" short.json "$rate_c" 4 "$front_pid"
run "short completion via front" "$front_port" short.json "$rate_c" 4 "$front_pid"
run "short completion via front, no keep-alive" "$front_close_port" short.json "$rate_c" 4 \
  "$front_close_pid"
