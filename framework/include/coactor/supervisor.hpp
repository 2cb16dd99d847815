// coactor::supervision: supervisors that restart crashed actors, after
// Erlang/OTP's `supervisor` (child specs, restart strategies, restart
// intensity and escalation).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/expected.hpp>

#include "coactor/ask.hpp"

namespace coactor {

class node;

namespace supervision {

/// When a child that ended is started again (Erlang's `restart`).
enum class restart : uint8_t {
  /// Always, however it ended.
  permanent,
  /// Only when it failed: not when it ended normally (`exit_reason::normal`
  /// or no error) or was shut down (`exit_reason::user_shutdown`).
  transient,
  /// Never; once it ended its name is gone.
  temporary,
};

/// Which children a failure restarts (Erlang's strategies).
enum class strategy : uint8_t {
  /// Only the child that failed.
  one_for_one,
  /// Every child: the others are stopped (in reverse start order), then all
  /// are started again in order.
  one_for_all,
  /// The child that failed and every child started after it.
  rest_for_one,
};

/// How to start, name and restart one child.
struct child_spec {
  /// The child's name, unique within its supervisor. It survives restarts:
  /// `(get_atom, name)` answers the actor running under it now.
  std::string name;
  /// Spawns the child: once by `spawn_supervisor`'s caller, then once per
  /// restart in the supervisor's context; must not block. Returning an invalid
  /// handle or throwing counts as a failure of the child.
  std::function<caf::actor(caf::actor_system&)> start;
  /// When the child is restarted.
  restart policy = restart::permanent;
  /// How long a stopping child may take to end after
  /// `exit_reason::user_shutdown` (it may clean up in an exit handler)
  /// before it is killed.
  std::chrono::milliseconds shutdown{5000};
};

/// The options of one supervisor.
struct supervisor_options {
  /// Names the supervisor in logs, errors and `node::stop` reports.
  std::string name = "supervisor";
  /// Which children a failure restarts.
  supervision::strategy strategy = strategy::one_for_one;
  /// Restarts allowed within `period`; one more makes the supervisor stop
  /// its children and fail with `errc::restart_limit` (Erlang's intensity;
  /// 0 allows none).
  std::size_t intensity = 3;
  /// The sliding window `intensity` counts restarts in.
  std::chrono::milliseconds period{5000};
};

/// What `(get_atom)` answers for each child, in start order.
struct child_status {
  std::string name;
  /// The running actor; invalid while the child is down or restarting.
  caf::actor actor;
  /// How often the child was started again so far.
  std::size_t restarts = 0;
};

/// Spawns a supervisor owned by `n` (`node::stop` ends it, which stops its
/// children in reverse start order, each within its `shutdown` time, the
/// whole within the node's stop deadline). The children are started in
/// order by the calling thread before this returns; restarts run in the
/// supervisor's context. A child that ends is handled by its `policy` and the
/// supervisor's `strategy`; every restart is logged (warn) with the child's
/// exit reason. More than `intensity` restarts within `period` make the
/// supervisor stop its children and exit with `errc::restart_limit`, which a
/// parent supervisor sees as the failure of one of its children
/// (escalation): nest supervisors by spawning one in a `child_spec::start`
/// with the `caf::actor_system&` overload.
///
/// The supervisor answers:
/// - `(caf::get_atom, std::string name)` → `caf::actor`: the child running
///   under `name`; while it restarts, the answer waits for the new actor.
///   Errors: `errc::name_not_found` for an unknown name or a temporary child
///   that ended; `errc::target_down` when the supervisor stops meanwhile.
/// - `(caf::get_atom)` → `std::vector<child_status>`.
///
/// Children die with the supervisor: whatever ends it (a kill included)
/// kills the children still running. A request to a child's old handle after a
/// restart fails at once (CAF bounces it with `sec::request_receiver_down`,
/// which `coactor::ask` reports as `errc::target_down`): it is never silently
/// lost; look the name up again.
///
/// Threading: any non-actor thread, or an actor of the node. Errors:
/// `errc::invalid_argument` for an empty or duplicate name, a child without
/// `start`, a negative `shutdown` or a `period` that is not positive;
/// `errc::node_stopped`; `errc::start_failed` naming the child when a child
/// fails to start (the children started before it are stopped again).
[[nodiscard]] caf::expected<caf::actor>
spawn_supervisor(node& n, supervisor_options opts,
                 std::vector<child_spec> children);

/// Same as `spawn_supervisor(node&, ...)`, but not owned by a node: for a
/// supervisor nested under another one, whose parent stops it. Called from
/// an actor (it does not block).
[[nodiscard]] caf::expected<caf::actor>
spawn_supervisor(caf::actor_system& sys, supervisor_options opts,
                 std::vector<child_spec> children);

/// Asks `sup` for its child named `name` (see `spawn_supervisor`), from an
/// actor task: `caf::actor kv = co_await supervision::child(self, sup, "kv",
/// 1s)`. Errors as for `coactor::ask`, plus those of `(get_atom, name)`.
inline auto child(caf::scheduled_actor* self, const caf::actor& sup,
                  std::string name, caf::timespan timeout) {
  return ask<caf::actor>(self, sup, timeout, caf::get_atom::value,
                         std::move(name));
}

/// Returns the child named `name` of `sup`, blocking the calling thread (for
/// `main` and tests; never call it from an actor). Errors as for `child`.
[[nodiscard]] caf::expected<caf::actor>
child(node& n, const caf::actor& sup, std::string name,
      std::chrono::milliseconds timeout = std::chrono::seconds{5});

/// Returns the status of every child of `sup`, blocking the calling thread.
[[nodiscard]] caf::expected<std::vector<child_status>>
children(node& n, const caf::actor& sup,
         std::chrono::milliseconds timeout = std::chrono::seconds{5});

/// Returns the name of `x`, e.g. "one_for_all".
[[nodiscard]] std::string_view to_string(strategy x) noexcept;

} // namespace supervision
} // namespace coactor

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(coactor::supervision::child_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<coactor::supervision::child_status>)
