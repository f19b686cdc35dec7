#include "gateway/web_ui.h"

namespace toolgate::gateway {

std::optional<HttpResponse> web_ui_response(std::string_view method, std::string_view path) {
  if (method != "GET" && method != "HEAD") return std::nullopt;
  if (path == "/") path = "/index.html";
  if (path != "/index.html" && path.substr(0, 4) != "/ui/") return std::nullopt;
  for (size_t i = 0; i < kWebAssetCount; ++i) {
    const WebAsset& a = kWebAssets[i];
    if (a.path != path) continue;
    HttpResponse r;
    r.status = 200;
    r.headers.emplace_back("Content-Type", std::string(a.content_type));
    // The page may only run its own scripts and talk to this server: no inline script, no
    // third-party origin, even if a model's reply smuggled markup past the sanitiser.
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                           "script-src 'self'; connect-src 'self'; frame-ancestors 'none'");
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    r.headers.emplace_back("Cache-Control", "no-cache");
    r.body = std::string(a.body);
    return r;
  }
  return std::nullopt;
}

}  // namespace toolgate::gateway
