#pragma once
// The built-in web chat: static files from webui/, embedded in the binary at build time
// (gateway/embed_web_ui.cmake generates web_ui_assets.cpp), served at / and /ui/*. No API key
// is needed for the page itself: it holds nothing but code, and asks for a key when the API
// wants one. Off with `server.web_ui: false`.
#include <optional>
#include <string_view>

#include "gateway/http_message.h"

namespace toolgate::gateway {

struct WebAsset {
  std::string_view path;  // "/index.html", "/ui/app.js", ...
  std::string_view content_type;
  std::string_view body;
};

// The embedded files (web_ui_assets.cpp, generated).
extern const WebAsset kWebAssets[];
extern const size_t kWebAssetCount;

// The page or file for GET/HEAD `path` ("/" is /index.html); nothing for other paths, so the
// API routes go on.
std::optional<HttpResponse> web_ui_response(std::string_view method, std::string_view path);

}  // namespace toolgate::gateway
