// coactor::http::request and response: plain, copyable HTTP/1.1 messages
// shared by the client and the server (Beast does the parsing and writing).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>

namespace coactor::http {

/// Header fields in the order received or to be sent; names compare
/// case-insensitively (`find`). A name may repeat.
using fields = std::vector<std::pair<std::string, std::string>>;

/// Returns the value of the first field named `name` (case-insensitive), or
/// an empty view when there is none.
[[nodiscard]] std::string_view find(const fields& xs,
                                    std::string_view name) noexcept;

/// An HTTP request: what the client sends, what a server route receives.
/// Plain data, cheap to move; safe to pass in messages between actors.
struct request {
  /// The method, e.g. "GET" or "POST" (upper case).
  std::string method = "GET";
  /// The request target: path and query, e.g. "/items?limit=10".
  std::string target = "/";
  /// Header fields. The client adds Host, Content-Length and User-Agent when
  /// missing; a server route sees what the peer sent.
  http::fields fields;
  /// The body (empty for none).
  std::string body;

  /// Returns the path part of `target` (before any '?').
  [[nodiscard]] std::string_view path() const noexcept;
  /// Returns the query part of `target` (after the '?', or empty).
  [[nodiscard]] std::string_view query() const noexcept;
  /// Returns the first header field named `name`, or an empty view.
  [[nodiscard]] std::string_view header(std::string_view name) const noexcept {
    return find(fields, name);
  }
};

/// An HTTP response: what a server route returns, what the client yields.
struct response {
  /// The status code, e.g. 200.
  unsigned status = 200;
  /// Header fields. The server adds Content-Length, Date-less framing and
  /// Connection as needed; a client sees what the server sent.
  http::fields fields;
  /// The body (empty for none; chunked responses arrive joined).
  std::string body;

  /// Returns the first header field named `name`, or an empty view.
  [[nodiscard]] std::string_view header(std::string_view name) const noexcept {
    return find(fields, name);
  }

  /// Makes a response with `Content-Type: text/plain; charset=utf-8`.
  [[nodiscard]] static response text(unsigned status, std::string body);
  /// Makes a response with `Content-Type: application/json`; `body` must be
  /// JSON text already (e.g. `nlohmann::json::dump()`).
  [[nodiscard]] static response json(unsigned status, std::string body);
};

} // namespace coactor::http

// Requests and responses travel between actors of one node (an actor route
// is asked with a `request` and answers with a `response`); they are not
// serialized, so they do not cross nodes.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(coactor::http::request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(coactor::http::response)
