// coactor::http::request and response helpers.
#include "coactor/http/message.hpp"

#include <algorithm>
#include <cctype>

namespace coactor::http {

namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size()
         && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
              return std::tolower(static_cast<unsigned char>(x))
                     == std::tolower(static_cast<unsigned char>(y));
            });
}

} // namespace

std::string_view find(const fields& xs, std::string_view name) noexcept {
  for (const auto& [k, v] : xs)
    if (iequals(k, name))
      return v;
  return {};
}

std::string_view request::path() const noexcept {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

std::string_view request::query() const noexcept {
  std::string_view t = target;
  auto q = t.find('?');
  return q == std::string_view::npos ? std::string_view{} : t.substr(q + 1);
}

response response::text(unsigned status, std::string body) {
  return {
      status, {{"Content-Type", "text/plain; charset=utf-8"}}, std::move(body)};
}

response response::json(unsigned status, std::string body) {
  return {status, {{"Content-Type", "application/json"}}, std::move(body)};
}

} // namespace coactor::http
