#pragma once
// A chat completion for an upstream model when server tools are involved (see
// upstream_tool_rounds.h for which): the server-tool loop of local models, around an upstream.
//
// Each round is asked of the upstream non-streamed (the gateway must see every call of a round
// before it can run any). With a pool, each round is balanced on its own and fails over to
// another member like a plain request (connect error, 502/503/504, a connection lost before the
// answer was complete; not a timeout): nothing of a round reaches the client before it is in. When the answer calls server tools, they run on a worker through the
// ServerToolbox, the assistant turn and one `tool` message per result are appended to
// `messages`, and the next round is asked — up to max_tool_rounds. After the last round, server
// calls go back to the client as ordinary tool_calls; a round that mixes server and client
// calls runs the server calls, reports them and returns the client calls. Executed calls are
// reported in `toolgate_tool_runs` exactly as for local models; usage sums all rounds.
//
// The client gets one chat.completion, or — for stream: true — an SSE stream synthesized from
// the rounds as each one ends: the role chunk when the first round has answered, the round's
// content, a `toolgate_tool_runs` chunk when its tools have run, and at the end the client's
// tool_calls, the finish chunk, the usage chunk (stream_options.include_usage) and [DONE].
// An upstream failure before the stream began is the HTTP error the relay gives; after, an
// in-band error event and [DONE]. Same lifecycle as the relay job: abandon() closes the
// upstream connection at once, and on_done waits for a tool still running on a worker.
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <memory>
#include <variant>

#include "gateway/chat_completion_job.h"
#include "gateway/upstream_relay.h"
#include "gateway/upstream_tool_rounds.h"

namespace toolgate::gateway {

// `plan` comes from plan_upstream_tools(); an ApiError there is the response. `model` (with
// model->upstream set) must point into `catalog`. Handlers run on `executor`, which must be
// the strand `env.post` posts to; `env.toolbox` runs the tools.
std::shared_ptr<ChatCompletionJob> make_upstream_tool_loop_job(
    UpstreamChatRequest request, std::variant<UpstreamToolPlan, ApiError> plan,
    std::shared_ptr<const ModelCatalog> catalog, const ServedModel* model, JobEnvironment env,
    std::shared_ptr<ResponseSink> sink, std::function<void(const JobSummary&)> on_done,
    std::chrono::steady_clock::time_point arrival, boost::asio::any_io_executor executor);

}  // namespace toolgate::gateway
