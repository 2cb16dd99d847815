// coactor::node: the RAII owner of a CAF actor system, for embedding in an
// application's main or server class.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "coactor/node_options.hpp"

namespace caf::scheduler {
class test_coordinator; // <caf/scheduler/test_coordinator.hpp> to use it
} // namespace caf::scheduler

namespace coactor {

namespace detail {
class node_context;
} // namespace detail

/// An actor that `node::stop` ended only by force, or not at all.
struct unended_actor {
  /// The actor's name, as CAF reports it (a stateful actor's `name` member).
  std::string name;
  /// The actor's id on its node.
  caf::actor_id id = 0;
};

/// What `node::stop` achieved.
struct stop_report {
  /// Actors spawned through the node that did not end by the deadline; they
  /// were then killed (`exit_reason::kill`).
  std::vector<unended_actor> unended;
  /// Actors not spawned through the node (e.g. children not `linked` to a
  /// parent) still running at the deadline; they are abandoned, not awaited.
  std::size_t untracked_running = 0;

  /// Returns whether every actor ended in time.
  [[nodiscard]] bool clean() const noexcept {
    return unended.empty() && untracked_running == 0;
  }
};

/// The RAII owner of one CAF actor system: starts it in `create`, stops it
/// (gracefully, bounded by `node_options::stop_timeout`) in the destructor.
/// Never takes `main` over. Several nodes can live in one process: nothing
/// in a node is global (signal handling excepted, which is process-wide by
/// nature and shared by the nodes that ask for it).
///
/// Threading: `spawn`, `stop`, `request_stop`, `wait_for_stop` and `running`
/// may be called from any non-actor thread; `stop` must not be called from
/// an actor of this node (it waits for them; use `request_stop`). Moving a
/// node is not thread-safe. Destroy every `caf::scoped_actor` of the node
/// before stopping it: a scoped actor is a running actor the node cannot
/// end, and CAF 0.17.6 pins the actor system to the thread that created one,
/// so the stop must then run on that same thread (as it does when a
/// scoped actor and the node live in the same `main`).
class node {
 public:
  // -- construction -----------------------------------------------------------

  /// Validates `opts` and starts a node. Errors: `errc::invalid_argument` for
  /// bad options (naming the option), `errc::invalid_config` for a bad
  /// `COACTOR_LOG_LEVEL`.
  [[nodiscard]] static caf::expected<node> create(node_options opts = {});

  node(node&&) noexcept;
  node& operator=(node&&) noexcept;
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Stops the node, waiting at most `options().stop_timeout`.
  ~node();

  // -- properties -------------------------------------------------------------

  /// Returns the options the node was created with.
  [[nodiscard]] const node_options& options() const noexcept;

  /// Returns the node's name.
  [[nodiscard]] const std::string& name() const noexcept;

  /// Returns whether the node runs (created or restarted, and not stopped).
  [[nodiscard]] bool running() const noexcept;

  /// Returns the actor system. Precondition: `running()`.
  [[nodiscard]] caf::actor_system& system();

  /// Returns the deterministic scheduler. Precondition: `running()` and
  /// `options().policy == scheduler_policy::testing`. Callers include
  /// `<caf/scheduler/test_coordinator.hpp>` (this header does not: it is
  /// CAF's scheduler internals, for tests only).
  [[nodiscard]] caf::scheduler::test_coordinator& test_coordinator();

  // -- spawning ---------------------------------------------------------------

  /// Spawns a class-based actor `T` and makes the node own it: `stop` ends
  /// it. Precondition: `running()`.
  template <class T, caf::spawn_options Os = caf::no_spawn_options, class... Ts>
  auto spawn(Ts&&... xs) {
    auto hdl = system().spawn<T, Os>(std::forward<Ts>(xs)...);
    own(caf::actor_cast<caf::strong_actor_ptr>(hdl));
    return hdl;
  }

  /// Spawns a function-based actor and makes the node own it: `stop` ends it.
  /// Precondition: `running()`.
  template <caf::spawn_options Os = caf::no_spawn_options, class F, class... Ts>
  auto spawn(F fun, Ts&&... xs) {
    auto hdl = system().spawn<Os>(std::move(fun), std::forward<Ts>(xs)...);
    own(caf::actor_cast<caf::strong_actor_ptr>(hdl));
    return hdl;
  }

  /// Makes the node own an actor spawned elsewhere, so that `stop` ends it.
  /// Holds only a weak reference. Thread-safe.
  void own(const caf::strong_actor_ptr& hdl);

  /// Returns how many owned actors are still alive. Thread-safe.
  [[nodiscard]] std::size_t owned_alive() const;

  // -- lifetime ---------------------------------------------------------------

  /// Ends every actor the node owns (`exit_reason::user_shutdown`; actors
  /// with an exit handler may clean up), waits until they ended or
  /// `deadline` passed, kills the rest, and shuts the actor system down.
  /// Never waits much longer than `deadline` (an actor stuck forever inside
  /// one handler is the exception: no scheduler can preempt it). Idempotent:
  /// stopping a stopped node returns a clean report.
  stop_report stop(std::chrono::milliseconds deadline);

  /// Stops with `options().stop_timeout`.
  stop_report stop() { return stop(options().stop_timeout); }

  /// Asks for a stop from any thread, including a signal watcher or an
  /// actor of this node, without waiting: a background thread ends every
  /// owned actor as `stop` does, then `running()` turns false and
  /// `wait_for_stop` returns. The actor system itself is destroyed by the
  /// next `stop()` or the destructor, on the calling thread (CAF 0.17.6
  /// cannot destroy it from an arbitrary thread); `stop()` then returns the
  /// report of the requested stop.
  void request_stop();

  /// Blocks until the node was stopped (by `stop`, `request_stop` or a
  /// signal). Returns immediately when not running.
  void wait_for_stop();

  /// Blocks until the node was stopped or `timeout` passed; returns whether
  /// it was stopped.
  [[nodiscard]] bool wait_for_stop(std::chrono::milliseconds timeout);

  /// Starts a stopped node again with the same options, as a fresh actor
  /// system. Returns `none` when it runs afterwards.
  caf::error start();

  /// @private
  [[nodiscard]] detail::node_context* context() noexcept { return ctx_.get(); }

 private:
  explicit node(std::shared_ptr<detail::node_context> ctx);

  std::shared_ptr<detail::node_context> ctx_;
};

} // namespace coactor
