// The `balanced` scheduler: work stealing that keeps request chains on one
// worker and hands surplus jobs to idle workers at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include <caf/detail/thread_safe_actor_clock.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>

namespace coactor::detail {

/// A CAF 0.17.6 scheduler (loaded as the actor system's scheduler module)
/// for `scheduler_policy::balanced`.
///
/// Like CAF's `work_stealing`, each worker has its own queue, and a job that a
/// worker makes runnable (a message to an idle actor) goes to the front of
/// that worker's queue: a chain of requests between two actors stays on one
/// worker, cache-hot and without hand-offs between threads. It differs in:
/// - Stealing is O(1): a queue is a `std::deque` under a mutex. CAF 0.17.6's
///   `double_ended_queue::take_tail` walks the whole queue under both of its
///   locks, which makes a fan-out to 10,000 actors quadratic.
/// - Idle workers sleep on a condition variable and are woken as soon as a
///   queue holds two jobs or more (work its worker cannot run now) or a job
///   arrives from outside while no worker is awake with an empty queue (a
///   job from outside goes to such a worker first, without a wake-up). A
///   single queued job is left to its worker, which runs it next; an idle
///   worker takes it only after `idle_timeout`, which bounds the wait
///   behind a long-running job.
/// - `stop` follows CAF's protocol: each worker runs what was queued before
///   its stop marker, then ends; what is left is released unrun.
/// - A worker that runs out of jobs looks for surplus `spin_attempts` times
///   (yielding in between) before it sleeps: the next round of a fan-out
///   needs no wake-up.
/// - The worker loop skips CAF's per-job logger bookkeeping (CAF's worker
///   records the actor id for its logger, which Debian's CAF compiles out:
///   a `dynamic_cast` and two locked map updates per job). Like CAF's
///   workers, each thread still registers the system's logger.
///
/// Threading: CAF's actor system drives it (`init`, `start`, `stop`);
/// `enqueue` is thread-safe.
class balanced_scheduler final : public caf::scheduler::abstract_coordinator {
 public:
  /// How long an idle worker sleeps before it looks for work by itself.
  static constexpr auto idle_timeout = std::chrono::milliseconds{10};

  /// How often a worker that ran out of jobs looks for surplus before it
  /// sleeps.
  static constexpr std::size_t spin_attempts = 64;

  explicit balanced_scheduler(caf::actor_system& sys);

  ~balanced_scheduler() override;

  /// Queues a job from outside the workers (round robin over the workers).
  void enqueue(caf::resumable* job) override;

  caf::actor_clock& clock() noexcept override;

  class worker;

 protected:
  void start() override;

  void stop() override;

 private:
  friend class worker;

  // Wakes one sleeping worker other than `except`, if any.
  void wake_one(const worker* except);

  // Returns whether a worker other than `self` has two jobs or more.
  bool surplus_elsewhere(const worker* self) const;

  caf::detail::thread_safe_actor_clock clock_;
  std::vector<std::unique_ptr<worker>> workers_;
  std::atomic<std::size_t> next_{0};
  std::atomic<std::size_t> sleepers_{0};
  std::thread timer_;
};

/// Returns a new `balanced_scheduler` for `sys` (a CAF module factory).
caf::actor_system::module* make_balanced_scheduler(caf::actor_system& sys);

} // namespace coactor::detail
