// Logging: one spdlog logger per node and component; actor lines carry the
// actor's name and id.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/local_actor.hpp>
#include <spdlog/logger.h>

namespace coactor::log {

/// Severity of a log line, from the most to the least verbose.
enum class level : uint8_t { trace, debug, info, warn, error, critical, off };

/// Parses "trace", "debug", "info", "warn", "error", "critical" or "off".
/// Errors: `errc::invalid_argument` naming the text and the accepted names.
[[nodiscard]] caf::expected<level> parse_level(std::string_view text);

/// Returns the name of `x`, e.g. "info".
[[nodiscard]] std::string_view to_string(level x) noexcept;

/// Returns the logger of `component` on the node that owns `sys`, named
/// "<node>.<component>" and created on first use. For an actor system not
/// made by a `coactor::node`, returns a process-wide fallback logger at the
/// level of `COACTOR_LOG_LEVEL` (or "info").
/// Thread-safe; the returned logger is thread-safe too.
[[nodiscard]] std::shared_ptr<spdlog::logger> get(caf::actor_system& sys,
                                                  std::string_view component);

/// A logger bound to one actor: every line starts with "[name#id]".
/// Cheap to construct; use only from the actor's own context (handlers and
/// its coroutines), since it reads the actor's name.
class actor_logger {
 public:
  /// Binds to `self`; `component` names the logger ("actor" by default).
  explicit actor_logger(caf::local_actor* self,
                        std::string_view component = "actor");

  /// Returns whether a line at `lvl` would be written.
  [[nodiscard]] bool enabled(level lvl) const noexcept;

  template <class... Ts>
  void log(level lvl, fmt::format_string<Ts...> fmt, Ts&&... xs) const {
    if (!enabled(lvl))
      return;
    write(lvl, fmt::format(fmt, std::forward<Ts>(xs)...));
  }

  template <class... Ts>
  void trace(fmt::format_string<Ts...> fmt, Ts&&... xs) const {
    log(level::trace, fmt, std::forward<Ts>(xs)...);
  }

  template <class... Ts>
  void debug(fmt::format_string<Ts...> fmt, Ts&&... xs) const {
    log(level::debug, fmt, std::forward<Ts>(xs)...);
  }

  template <class... Ts>
  void info(fmt::format_string<Ts...> fmt, Ts&&... xs) const {
    log(level::info, fmt, std::forward<Ts>(xs)...);
  }

  template <class... Ts>
  void warn(fmt::format_string<Ts...> fmt, Ts&&... xs) const {
    log(level::warn, fmt, std::forward<Ts>(xs)...);
  }

  template <class... Ts>
  void error(fmt::format_string<Ts...> fmt, Ts&&... xs) const {
    log(level::error, fmt, std::forward<Ts>(xs)...);
  }

 private:
  void write(level lvl, std::string_view msg) const;

  caf::local_actor* self_;
  std::shared_ptr<spdlog::logger> logger_;
};

/// Logs at info from an actor: `coactor::log::info(self, "got {}", x)`.
template <class... Ts>
void info(caf::local_actor* self, fmt::format_string<Ts...> fmt, Ts&&... xs) {
  actor_logger{self}.info(fmt, std::forward<Ts>(xs)...);
}

/// Logs at warn from an actor.
template <class... Ts>
void warn(caf::local_actor* self, fmt::format_string<Ts...> fmt, Ts&&... xs) {
  actor_logger{self}.warn(fmt, std::forward<Ts>(xs)...);
}

/// Logs at error from an actor.
template <class... Ts>
void error(caf::local_actor* self, fmt::format_string<Ts...> fmt, Ts&&... xs) {
  actor_logger{self}.error(fmt, std::forward<Ts>(xs)...);
}

/// Logs at debug from an actor.
template <class... Ts>
void debug(caf::local_actor* self, fmt::format_string<Ts...> fmt, Ts&&... xs) {
  actor_logger{self}.debug(fmt, std::forward<Ts>(xs)...);
}

} // namespace coactor::log
