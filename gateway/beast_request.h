#pragma once
// The one place a request parsed by Beast becomes the socket-free HttpRequest that HttpApi
// handles: the session uses it for every request, and the HTTP fuzz target (tests/fuzz) feeds
// raw bytes through Beast's parser and this function, so both see the same request.
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "gateway/http_message.h"

namespace toolgate::gateway {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;

// Moves the body out of `message`.
HttpRequest to_http_request(BeastRequest& message);

}  // namespace toolgate::gateway
