// Private: the state behind a coactor::node, reachable from any actor of the
// node through its actor system's config.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <typeindex>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <spdlog/logger.h>

#include "coactor/node.hpp"

namespace coactor::detail {

class node_context;
struct ask_stats;
struct bridge_totals;

/// A per-node facility (gateway, worker pool, remoting registry, ...),
/// created on first use and stopped when the node stops.
class node_service {
 public:
  virtual ~node_service() = default;

  /// Called once when the node stops, after its actors ended and before the
  /// actor system is destroyed. Must not block for long.
  virtual void stop() {}
};

/// The actor system config of a node: carries the way back to the node.
class node_config : public caf::actor_system_config {
 public:
  explicit node_config(node_context* ctx) : ctx(ctx) {}
  node_context* ctx;
};

class node_context : public std::enable_shared_from_this<node_context> {
 public:
  node_context(node_options opts, log::level lvl);
  ~node_context();

  /// Builds config and actor system. Precondition: not running.
  caf::error start();

  /// Drains (unless drained already) and destroys the actor system on the
  /// calling thread.
  stop_report stop(std::chrono::milliseconds deadline);

  /// Ends every actor (bounded by `deadline`) and marks the node stopped, but
  /// leaves the actor system alive: CAF 0.17.6 may only destroy it on a thread
  /// that holds no reference to it (see `release_thread`).
  void request_stop();
  bool wait_for_stop(std::chrono::milliseconds* timeout);

  bool running() const noexcept;
  caf::actor_system& system();

  void own(const caf::strong_actor_ptr& hdl);
  std::size_t owned_alive() const;

  std::shared_ptr<spdlog::logger> logger(std::string_view component);

  /// Returns the node's instance of `T` (constructed from `node_context&` on
  /// first use). Thread-safe. A constructor may use other services: those
  /// it creates are stopped and destroyed after it (reverse order of
  /// completion). Precondition: running.
  template <class T>
  T& service() {
    std::lock_guard<std::recursive_mutex> guard{services_mtx_};
    auto key = std::type_index{typeid(T)};
    for (auto& [k, v] : services_)
      if (k == key)
        return static_cast<T&>(*v);
    auto ptr = std::make_unique<T>(*this);
    auto& ref = *ptr;
    services_.emplace_back(key, std::move(ptr));
    return ref;
  }

  const node_options opts;
  const log::level level;

  /// Where the node's asks are counted (coactor/detail/ask_stats.hpp): set
  /// by the metrics service while it lives, null when metrics are off.
  std::atomic<ask_stats*> asks{nullptr};

  /// What the node's bridges count into (coactor/detail/bridge_totals.hpp):
  /// set by the metrics service when the node starts (before any actor of
  /// it runs), null when metrics are off.
  std::shared_ptr<bridge_totals> bridges;

 private:
  stop_report drain(std::chrono::milliseconds deadline);
  void teardown();
  void teardown_services();
  void clear_services();
  void join_stopper();

  // Owned actors (weak), keyed by id; erased by an attached functor on exit.
  struct tracker {
    mutable std::mutex mtx;
    std::condition_variable cv;
    std::unordered_map<caf::actor_id, caf::actor_addr> alive;
  };
  std::shared_ptr<tracker> tracker_ = std::make_shared<tracker>();

  // Serializes start/stop; `running_` and the stop waiters use `state_mtx_`.
  std::mutex lifecycle_mtx_;
  mutable std::mutex state_mtx_;
  std::condition_variable state_cv_;
  bool running_ = false;
  bool stop_requested_ = false;
  bool drained_ = false;
  stop_report drain_report_;
  std::thread stopper_;

  std::unique_ptr<node_config> cfg_;
  std::unique_ptr<caf::actor_system> sys_;

  std::mutex loggers_mtx_;
  std::shared_ptr<spdlog::sinks::sink> sink_;
  std::vector<std::shared_ptr<spdlog::logger>> loggers_;

  // Recursive: a service's constructor may ask for another service.
  std::recursive_mutex services_mtx_;
  std::vector<std::pair<std::type_index, std::unique_ptr<node_service>>>
      services_;
};

/// Returns the context of the node that owns `sys`, or null for an actor
/// system not made by a `coactor::node`.
node_context* node_context_of(caf::actor_system& sys) noexcept;

/// Drops the calling thread's hidden reference to the CAF actor system it
/// touched last. CAF 0.17.6 stores the system's logger in a thread-local of
/// every thread that constructs a system, spawns, or creates a scoped_actor,
/// and `~actor_system` waits until no thread holds it: destroying a system
/// from another thread than such a holder hangs forever.
void release_thread() noexcept;

/// Makes the line format the same for every logger.
void configure_logger(spdlog::logger& lg, log::level lvl);

// -- signals (signals.cpp) ----------------------------------------------------

/// Makes SIGINT/SIGTERM call `request_stop` on `ctx` until unsubscribed.
void subscribe_signals(const std::shared_ptr<node_context>& ctx);

/// Undoes `subscribe_signals`; the last one restores the old handlers.
void unsubscribe_signals(const node_context* ctx);

} // namespace coactor::detail
