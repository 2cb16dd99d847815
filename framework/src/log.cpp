// Per-node, per-component spdlog loggers and the actor-bound logger.
#include "coactor/log.hpp"

#include <array>
#include <cstdlib>
#include <mutex>

#include <spdlog/sinks/stdout_color_sinks.h>

#include "coactor/error.hpp"
#include "node_context.hpp"

namespace coactor::log {

namespace {

constexpr std::array<std::string_view, 7> level_names{
    "trace", "debug", "info", "warn", "error", "critical", "off"};

spdlog::level::level_enum to_spdlog(level x) noexcept {
  return static_cast<spdlog::level::level_enum>(x);
}

// Loggers for actor systems not made by a node (e.g. raw CAF in tests).
class fallback_registry {
 public:
  std::shared_ptr<spdlog::logger> get(std::string_view component) {
    std::string name{"coactor."};
    name += component;
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& lg : loggers_)
      if (lg->name() == name)
        return lg;
    if (!sink_) {
      sink_ = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
      const char* env = std::getenv("COACTOR_LOG_LEVEL");
      auto parsed = parse_level(env != nullptr ? env : "info");
      level_ = parsed ? *parsed : level::info;
    }
    auto lg = std::make_shared<spdlog::logger>(std::move(name), sink_);
    detail::configure_logger(*lg, level_);
    loggers_.push_back(lg);
    return lg;
  }

 private:
  std::mutex mtx_;
  std::shared_ptr<spdlog::sinks::sink> sink_;
  level level_ = level::info;
  std::vector<std::shared_ptr<spdlog::logger>> loggers_;
};

} // namespace

caf::expected<level> parse_level(std::string_view text) {
  for (size_t i = 0; i < level_names.size(); ++i)
    if (level_names[i] == text)
      return static_cast<level>(i);
  if (text == "warning")
    return level::warn;
  std::string msg = "unknown log level '";
  msg += text;
  msg += "' (expected trace, debug, info, warn, error, critical or off)";
  return make_error(errc::invalid_argument, std::move(msg));
}

std::string_view to_string(level x) noexcept {
  auto i = static_cast<size_t>(x);
  return i < level_names.size() ? level_names[i] : "unknown";
}

std::shared_ptr<spdlog::logger> get(caf::actor_system& sys,
                                    std::string_view component) {
  if (auto* ctx = detail::node_context_of(sys))
    return ctx->logger(component);
  static fallback_registry fallback;
  return fallback.get(component);
}

actor_logger::actor_logger(caf::local_actor* self, std::string_view component)
    : self_(self), logger_(get(self->system(), component)) {}

bool actor_logger::enabled(level lvl) const noexcept {
  return logger_->should_log(to_spdlog(lvl));
}

void actor_logger::write(level lvl, std::string_view msg) const {
  logger_->log(to_spdlog(lvl), "[{}#{}] {}", self_->name(), self_->id(), msg);
}

} // namespace coactor::log

namespace coactor::detail {

void configure_logger(spdlog::logger& lg, log::level lvl) {
  lg.set_level(static_cast<spdlog::level::level_enum>(lvl));
  lg.set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%n] %v");
  lg.flush_on(spdlog::level::warn);
}

} // namespace coactor::detail
