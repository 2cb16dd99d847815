// Test fixture: a coactor node on CAF's deterministic testing scheduler.
// Nothing runs until the test drives it; time is virtual.
#pragma once

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <utility>

#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>

#include "coactor/error.hpp"
#include "coactor/node.hpp"

namespace coactor::testing {

/// Returns a started node or aborts the test binary with the error.
inline node make_node(node_options opts) {
  auto n = node::create(std::move(opts));
  if (!n) {
    std::cerr << "cannot create test node: " << describe(n.error()) << '\n';
    std::abort();
  }
  return std::move(*n);
}

/// Options for a deterministic node (testing scheduler, warnings only).
inline node_options deterministic_options() {
  node_options opts;
  opts.name = "test";
  opts.threads = 1;
  opts.policy = scheduler_policy::testing;
  opts.log_level = log::level::warn;
  return opts;
}

/// A node on CAF's testing scheduler, plus helpers to drive it. Use as a
/// Catch2 fixture: `TEST_CASE_METHOD(deterministic_fixture, "...")`.
class deterministic_fixture {
 public:
  explicit deterministic_fixture(node_options opts = deterministic_options())
      : node_(make_node(std::move(opts))), sys(node_.system()),
        sched(node_.test_coordinator()), self(sys, true) {}

  /// Spawns an actor owned by the node.
  template <class... Ts>
  auto spawn(Ts&&... xs) {
    return node_.spawn(std::forward<Ts>(xs)...);
  }

  /// Runs every pending job and every message until nothing is left.
  /// Returns how many events ran.
  size_t run() { return sched.run(); }

  /// Runs one job; returns whether there was one.
  bool run_once() { return sched.try_run_once(); }

  /// Advances virtual time by `d`, fires due timeouts, then runs until idle.
  /// Returns how many timeouts fired.
  size_t advance(caf::timespan d) {
    auto fired = sched.advance_time(d);
    run();
    return fired;
  }

  /// Receives one message of type `T` that is already in `self`'s mailbox.
  /// Fails the test (returns nullopt) when none is there.
  template <class T>
  std::optional<T> receive_now() {
    std::optional<T> result;
    self->receive([&](const T& x) { result = x; },
                  [&](caf::error& err) {
                    std::cerr << "received error: " << describe(err) << '\n';
                  },
                  caf::after(std::chrono::seconds{0}) >> [] {});
    return result;
  }

  coactor::node& node() { return node_; }

 private:
  coactor::node node_;

 public:
  caf::actor_system& sys;
  caf::scheduler::test_coordinator& sched;
  /// A hidden scoped actor for sending, requesting and receiving in tests.
  caf::scoped_actor self;
};

} // namespace coactor::testing
