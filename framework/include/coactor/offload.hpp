// coactor::offload / async_offload: run blocking work on the node's worker
// pool and get the result back inside the actor (asyncio's run_in_executor).
#pragma once

#include <exception>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/scheduled_actor.hpp>

#include "coactor/bridge.hpp"
#include "coactor/error.hpp"
#include "coactor/from_callback.hpp"

namespace coactor {

namespace detail {

/// One job for the worker pool. `run` must not throw.
class pool_job {
 public:
  virtual ~pool_job() = default;
  virtual void run() noexcept = 0;
};

/// Queues `job` on the worker pool of the node that owns `sys` (started on
/// first use). Thread-safe, never blocks. Errors: `errc::invalid_argument`
/// when `sys` is not a coactor node's; `errc::resource_exhausted` when
/// `node_options::offload_queue` jobs wait already; `errc::node_stopped`
/// when the pool stopped. On error, `job` is destroyed without running.
caf::error submit_to_pool(caf::actor_system& sys,
                          std::unique_ptr<pool_job> job) noexcept;

/// Counters of a node's worker pool.
struct pool_stats {
  std::size_t threads = 0;  // started so far
  std::size_t queued = 0;   // waiting for a thread
  std::size_t running = 0;  // inside fn right now
  std::size_t finished = 0; // since the pool started
};

/// Returns the counters of the pool of the node that owns `sys` (zeros when
/// none was started). Thread-safe.
pool_stats pool_stats_of(caf::actor_system& sys) noexcept;

/// Calls `fn` and turns its result, error or exception into an expected.
template <class F>
auto call_catching(F& fn) noexcept -> caf::expected<std::invoke_result_t<F&>> {
  using R = std::invoke_result_t<F&>;
  try {
    if constexpr (std::is_void_v<R>) {
      fn();
      return caf::expected<void>{};
    } else {
      return fn();
    }
  } catch (const std::exception& e) {
    return make_error(errc::unhandled_exception,
                      std::string{"offloaded job threw: "} + e.what());
  } catch (...) {
    return make_error(errc::unhandled_exception,
                      "offloaded job threw a non-standard exception");
  }
}

template <class F, class Done>
class offload_job final : public pool_job {
 public:
  offload_job(F fn, Done done) : fn_(std::move(fn)), done_(std::move(done)) {}

  void run() noexcept override { done_(call_catching(fn_)); }

 private:
  F fn_;
  Done done_;
};

/// Submits `fn` to the pool of `sys`; `done(caf::expected<R>)` is called
/// exactly once: from a pool thread with the result, or on this thread
/// when the pool refused the job. `done` must be thread-safe and cheap.
template <class F, class Done>
void offload_to_pool(caf::actor_system& sys, F fn, Done done) {
  using R = std::invoke_result_t<F&>;
  // `done` is shared so that a refused job can still be completed here.
  auto shared_done = std::make_shared<Done>(std::move(done));
  auto call = [shared_done](caf::expected<R> x) {
    (*shared_done)(std::move(x));
  };
  auto job
      = std::make_unique<offload_job<F, decltype(call)>>(std::move(fn), call);
  if (auto err = submit_to_pool(sys, std::move(job)))
    (*shared_done)(caf::expected<R>{std::move(err)});
}

} // namespace detail

/// Runs `fn()` on the worker pool of `self`'s node (size:
/// `node_options::offload_threads`) and then `on_done(caf::expected<R>)` in
/// `self`'s context, where `R` is `fn`'s result type. Use it for blocking
/// calls (file or database I/O, a legacy synchronous API, heavy CPU work):
/// CAF's scheduler threads never block, the actor keeps handling messages
/// while `fn` runs.
///
/// Threading: call from `self`'s context. `fn` runs on a pool thread and
/// must not touch actor state; `on_done` runs in `self`'s context, exactly
/// once, unless `self` exited first (then it is dropped, never run).
/// `fn` and `on_done` may be move-only.
///
/// Errors (passed to `on_done`): `errc::unhandled_exception` when `fn`
/// threw (with its `what()`); `errc::resource_exhausted` when
/// `node_options::offload_queue` jobs wait already; `errc::node_stopped`
/// when the pool stopped; `errc::invalid_argument` when `self` does not run
/// on a coactor node.
template <class F, class OnDone>
void async_offload(caf::scheduled_actor* self, F fn, OnDone on_done) {
  using R = std::invoke_result_t<F&>;
  auto done = make_one_shot_bridge<caf::expected<R>>(self, std::move(on_done));
  detail::offload_to_pool(self->system(), std::move(fn),
                          [done](caf::expected<R> x) { done(std::move(x)); });
}

namespace detail {

/// The `start` function of `offload`: hands `fn` to the pool and forwards
/// its outcome to `from_callback`'s `done`.
template <class F>
struct offload_start {
  using result_type = std::invoke_result_t<F&>;

  caf::actor_system* sys;
  F fn;

  void operator()(done_callback<result_type> done) {
    offload_to_pool(*sys, std::move(fn), [done](caf::expected<result_type> x) {
      if (!x)
        done(std::move(x.error()));
      else if constexpr (std::is_void_v<result_type>)
        done();
      else
        done(std::move(*x));
    });
  }
};

} // namespace detail

/// Awaitable form of `async_offload`: `co_await offload(self, fn)` runs
/// `fn()` on the worker pool of `self`'s node and resumes the task in
/// `self`'s context with `caf::expected<R>` (`R` = `fn`'s result type).
/// The job is queued only once the task suspended.
///
/// Threading: use inside a `coactor::task` running in `self`. `fn` runs on
/// a pool thread and must not touch actor state (take copies); CAF's
/// scheduler threads never block on it.
///
/// Errors: as `async_offload`, plus `errc::timeout` when `timeout` passed
/// first and `errc::cancelled` when the task was cancelled. A job that
/// already runs cannot be interrupted: on timeout or cancellation it runs
/// to its end on the pool and its result is discarded.
template <class F>
[[nodiscard]] auto offload(caf::scheduled_actor* self, caf::timespan timeout,
                           F fn) {
  using R = std::invoke_result_t<F&>;
  return from_callback<R>(
      self, timeout, detail::offload_start<F>{&self->system(), std::move(fn)});
}

/// `offload` without a timeout: waits as long as the job runs.
template <class F>
[[nodiscard]] auto offload(caf::scheduled_actor* self, F fn) {
  return offload(self, caf::timespan::max(), std::move(fn));
}

} // namespace coactor
