// coactor's error codes, their CAF error category and helpers to render them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>

namespace coactor {

/// The CAF error category of coactor's own errors.
inline constexpr caf::atom_value error_category = caf::atom("coactor");

/// What went wrong, in words a user understands. Every fallible coactor API
/// reports one of these (or a CAF `sec`) inside a `caf::error`, usually with a
/// context string saying what and where.
enum class errc : uint8_t {
  /// An argument or option is missing, malformed or out of range.
  invalid_argument = 1,
  /// A configuration file could not be read or parsed.
  invalid_config,
  /// The operation did not complete before its deadline.
  timeout,
  /// The operation was cancelled before it completed.
  cancelled,
  /// The addressed actor is dead, was never alive, or became unreachable.
  target_down,
  /// A reply arrived, but not of the expected type.
  unexpected_reply,
  /// An exception escaped a task, handler or callback and was caught.
  unhandled_exception,
  /// A bridge was stopped or its actor exited; the call was dropped.
  bridge_closed,
  /// The node is not running (not started yet, or already stopped).
  node_stopped,
  /// A pipeline stage failed; the context names the stage.
  stage_failed,
  /// A buffer with the `fail` overflow policy received more than it can hold.
  buffer_overflow,
  /// A peer broke the stream protocol (e.g. sent more than its credit).
  protocol_violation,
  /// A remote node could not be reached or the connection was lost.
  connection_failed,
  /// No actor is published under the requested name.
  name_not_found,
  /// A message type is not registered on this node or its peer.
  type_not_registered,
  /// The TLS setup or handshake failed.
  tls_failure,
  /// The resource is exhausted (e.g. a worker pool queue is full).
  resource_exhausted,
  /// Reading or writing a file, pipe or socket failed; the context names it.
  io_error,
  /// A host name could not be resolved; the context names the host.
  resolve_failed,
  /// An actor could not be started (its start function threw or returned
  /// no actor); the context names it.
  start_failed,
  /// A supervisor restarted its children more often than its intensity
  /// allows and gave up; the context names the child and its last error.
  restart_limit,
};

/// Returns the name of `x`, e.g. "timeout".
[[nodiscard]] std::string_view to_string(errc x) noexcept;

/// Makes a `caf::error` of coactor's category; found by ADL, so `caf::error`
/// converts from `errc` implicitly.
[[nodiscard]] caf::error make_error(errc x);

/// Makes a `caf::error` of coactor's category carrying a context string that
/// says what and where, e.g. `make_error(errc::timeout, "ask to 'db'")`.
[[nodiscard]] caf::error make_error(errc x, std::string context);

/// Renders any error readably: coactor's and CAF's own categories by name,
/// with the context when there is one, e.g. "coactor::timeout (ask to 'db')".
/// Returns "none" for the default-constructed error. (Not named `to_string`:
/// that would be ambiguous with CAF's own overload found by ADL.)
[[nodiscard]] std::string describe(const caf::error& x);

/// Returns the context string stored by `make_error(x, context)`, or "".
[[nodiscard]] std::string context_of(const caf::error& x);

/// Returns whether `x` is coactor's error `code` (ignoring the context).
[[nodiscard]] inline bool is(const caf::error& x, errc code) noexcept {
  return x.category() == error_category
         && x.code() == static_cast<uint8_t>(code);
}

} // namespace coactor
