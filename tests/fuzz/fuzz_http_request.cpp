// Raw bytes from a client socket: Beast's request parser with the session's limits, the same
// Beast -> HttpRequest conversion the session uses (gateway/beast_request.h), then
// HttpApi::handle — routing, auth, CORS, /v1/models, /health, /metrics, the OpenAI, Ollama,
// completions and infill bodies — up to the typed request a job would start from. Pipelined
// requests in one input are handled one after another, as on a keep-alive connection.
// The served model is the gateway tests' scripted engine: no weights, nothing generated.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>

#include "gateway/admission_control.h"
#include "gateway/api_key_auth.h"
#include "gateway/beast_request.h"
#include "gateway/cors_policy.h"
#include "gateway/http_api.h"
#include "gateway/metrics.h"
#include "gateway/options.h"
#include "tests/gateway/fakes.h"

using namespace toolgate::gateway;
namespace http = boost::beast::http;

namespace {

struct Server {
  ServerOptions options;
  testing::FakeEngine engine{{}};
  Metrics metrics;
  AdmissionControl admission{4, 4};
  HttpApi api{ApiKeyAuth({"sk-fuzz"}), CorsPolicy({"https://app.example"}), &metrics, &admission};

  Server() {
    ServedModel m;
    m.id = "smollm2";
    m.aliases = {"default"};
    m.engine = &engine;
    m.created = 1700000000;
    api.publish(std::make_shared<ModelCatalog>(std::vector<ServedModel>{m},
                                               std::vector<std::string>{"still-loading"}));
    api.set_web_ui(true);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Server& server = *new Server();
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (int exchange = 0; exchange < 8 && !in.empty(); ++exchange) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(server.options.max_body_bytes);
    parser.header_limit(16 * 1024);  // as HttpSession::do_read
    parser.eager(true);
    boost::beast::error_code ec;
    size_t used = parser.put(boost::asio::buffer(in.data(), in.size()), ec);
    in.remove_prefix(used);
    // need_more: the session would wait for more bytes; any other error: a 400/413/431.
    if (ec || !parser.is_done()) return 0;
    BeastRequest message = parser.release();
    HttpRequest request = to_http_request(message);
    ApiOutcome outcome = server.api.handle(request);  // never throws
    if (auto* response = std::get_if<HttpResponse>(&outcome.action)) {
      (void)serialize_response(*response, message.keep_alive());
      if (response->status < 100 || response->status > 599) std::abort();
    }
    if (!message.keep_alive()) return 0;
  }
  return 0;
}
