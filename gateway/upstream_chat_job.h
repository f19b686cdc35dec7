#pragma once
// A chat completion for an upstream model: the request body goes to the upstream's
// /chat/completions with `model` set to the remote name, and the answer comes back with
// `model` set to our public id — one JSON body, or SSE events relayed as they arrive.
// Same lifecycle as ChatCompletionJob (abandon closes the upstream connection at once).
//
// Not done for upstream models: the server-tool loop (tools are forwarded as the client sent
// them; main() refuses `server_tools` on an upstream model).
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <memory>

#include "gateway/chat_completion_job.h"
#include "gateway/upstream_relay.h"

namespace toolgate::gateway {

// `model` (with model->upstream set) must point into `catalog`. Handlers run on `executor`,
// which must be the strand `env.post` posts to.
std::shared_ptr<ChatCompletionJob> make_upstream_chat_job(
    UpstreamChatRequest request, std::shared_ptr<const ModelCatalog> catalog,
    const ServedModel* model, JobEnvironment env, std::shared_ptr<ResponseSink> sink,
    std::function<void(const JobSummary&)> on_done, std::chrono::steady_clock::time_point arrival,
    boost::asio::any_io_executor executor);

}  // namespace toolgate::gateway
