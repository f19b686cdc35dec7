#pragma once
// The HTTP server main() runs: OpenAI-compatible endpoints over Boost.Beast on a small pool of
// I/O threads. Beast stays behind this header (pimpl).
//
//   Server server(options, models, &toolbox);
//   server.run();  // blocks until SIGINT/SIGTERM, then shuts down gracefully
//
// Graceful shutdown: stop accepting; requests waiting for a slot get 503; running generations
// are cancelled (Engine::cancel) and their responses end (503, or an SSE error event + [DONE]
// when the stream had begun); idle keep-alive connections close; after `shutdown_grace` the
// rest are cut. Engines belong to the caller: shut them down after run()/stop() returns and
// before the Server is destroyed.
#include <cstdint>
#include <functional>
#include <string>
#include <memory>
#include <vector>

#include "gateway/options.h"

namespace toolgate::gateway {

class KeyPolicies;

class Metrics;
class ServerToolbox;

class Server {
 public:
  // `toolbox` (may be null: no server tools) must outlive the Server. With an empty `models`
  // /health answers 503 until publish_models().
  Server(ServerOptions options, std::vector<ServedModel> models,
         const ServerToolbox* toolbox = nullptr);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts the I/O threads; returns at once. Throws std::runtime_error when the
  // address cannot be bound.
  void start();
  // start() if needed, then blocks until SIGINT/SIGTERM (when options.handle_signals) or
  // request_stop(), then shuts down gracefully.
  void run();
  // Asks run() to return; safe from any thread, including handlers.
  void request_stop();
  // Graceful shutdown, blocking until done; idempotent. Not from an I/O thread.
  void stop();

  // `loading`: ids and aliases of configured models still loading (503 model_loading for now).
  void publish_models(std::vector<ServedModel> models, std::vector<std::string> loading = {});
  // Live reload: SIGHUP (while run() waits) and POST /admin/reload call `reload` on the
  // server's reload thread, one at a time (never on an I/O or worker thread: it may load
  // models for seconds); it returns the problems that kept the old config (none = reloaded).
  // Set before run().
  void set_reload_handler(std::function<std::vector<std::string>()> reload);
  // Swaps the API keys for every request from now on (in-flight ones keep theirs).
  void replace_keys(std::vector<std::string> api_keys, std::shared_ptr<KeyPolicies> named);
  uint16_t port() const;  // the bound port (useful with options.port = 0)
  Metrics& metrics();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace toolgate::gateway
