// Names and rendering of coactor's error codes.
#include "coactor/error.hpp"

#include <caf/exit_reason.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace coactor {

std::string_view to_string(errc x) noexcept {
  switch (x) {
    case errc::invalid_argument: return "invalid_argument";
    case errc::invalid_config: return "invalid_config";
    case errc::timeout: return "timeout";
    case errc::cancelled: return "cancelled";
    case errc::target_down: return "target_down";
    case errc::unexpected_reply: return "unexpected_reply";
    case errc::unhandled_exception: return "unhandled_exception";
    case errc::bridge_closed: return "bridge_closed";
    case errc::node_stopped: return "node_stopped";
    case errc::stage_failed: return "stage_failed";
    case errc::buffer_overflow: return "buffer_overflow";
    case errc::protocol_violation: return "protocol_violation";
    case errc::connection_failed: return "connection_failed";
    case errc::name_not_found: return "name_not_found";
    case errc::type_not_registered: return "type_not_registered";
    case errc::tls_failure: return "tls_failure";
    case errc::resource_exhausted: return "resource_exhausted";
    case errc::io_error: return "io_error";
    case errc::resolve_failed: return "resolve_failed";
    case errc::start_failed: return "start_failed";
    case errc::restart_limit: return "restart_limit";
  }
  return "unknown";
}

caf::error make_error(errc x) {
  return caf::error{static_cast<uint8_t>(x), error_category};
}

caf::error make_error(errc x, std::string context) {
  return caf::error{static_cast<uint8_t>(x), error_category,
                    caf::make_message(std::move(context))};
}

std::string context_of(const caf::error& x) {
  const auto& ctx = x.context();
  if (ctx.match_elements<std::string>())
    return ctx.get_as<std::string>(0);
  return {};
}

std::string describe(const caf::error& x) {
  if (!x)
    return "none";
  std::string result;
  if (x.category() == error_category) {
    result = "coactor::";
    result += to_string(static_cast<errc>(x.code()));
  } else if (x.category() == caf::atom("system")) {
    result = "caf::";
    result += caf::to_string(static_cast<caf::sec>(x.code()));
  } else if (x.category() == caf::atom("exit")) {
    result = "caf::exit_reason::";
    result += caf::to_string(static_cast<caf::exit_reason>(x.code()));
  } else {
    return caf::to_string(x);
  }
  if (auto ctx = context_of(x); !ctx.empty()) {
    result += " (";
    result += ctx;
    result += ')';
  } else if (!x.context().empty() && x.category() != error_category) {
    result += ' ';
    result += caf::to_string(x.context());
  }
  return result;
}

} // namespace coactor
