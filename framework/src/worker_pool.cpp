// The per-node worker pool for blocking work (offload).
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "coactor/error.hpp"
#include "coactor/offload.hpp"
#include "node_context.hpp"

namespace coactor::detail {

namespace {

/// Threads start on demand up to `offload_threads`; the queue holds at most
/// `offload_queue` jobs. The shared core outlives the service so that a
/// thread stuck in a job past the node's stop can be detached safely.
class worker_pool final : public node_service {
 public:
  explicit worker_pool(node_context& ctx)
      : core_(std::make_shared<core>()), max_threads_(ctx.opts.offload_threads),
        max_queue_(ctx.opts.offload_queue),
        stop_timeout_(ctx.opts.stop_timeout), log_(ctx.logger("offload")) {}

  ~worker_pool() override { stop(); }

  caf::error submit(std::unique_ptr<pool_job>&& job) {
    std::unique_lock<std::mutex> guard{core_->mtx};
    if (core_->stopping)
      return make_error(errc::node_stopped, "offload: the node stopped");
    if (core_->queue.size() >= max_queue_)
      return make_error(errc::resource_exhausted,
                        "offload: " + std::to_string(max_queue_)
                            + " jobs wait already (node option offload-queue)");
    core_->queue.push_back(std::move(job));
    // Start a thread when every started one is busy.
    if (core_->idle == 0 && threads_.size() < max_threads_)
      threads_.emplace_back([c = core_] { c->work(); });
    guard.unlock();
    core_->cv.notify_one();
    return caf::none;
  }

  pool_stats stats() const {
    std::lock_guard<std::mutex> guard{core_->mtx};
    return {threads_.size(), core_->queue.size(), core_->running,
            core_->finished};
  }

  void stop() override {
    std::deque<std::unique_ptr<pool_job>> dropped;
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> guard{core_->mtx};
      if (core_->stopping && threads_.empty())
        return;
      core_->stopping = true;
      dropped.swap(core_->queue);
      threads.swap(threads_);
    }
    core_->cv.notify_all();
    dropped.clear(); // their actors ended already: results go nowhere
    // Jobs still inside `fn` get until the stop timeout; a job blocked for
    // good must not hang the node's stop.
    std::unique_lock<std::mutex> guard{core_->mtx};
    auto ended
        = core_->exit_cv.wait_for(guard, stop_timeout_, [this, &threads] {
            return core_->exited == threads.size();
          });
    guard.unlock();
    for (auto& t : threads) {
      if (ended)
        t.join();
      else
        t.detach();
    }
    if (!ended)
      log_->warn("stop: {} offloaded job(s) still running after {} ms; their "
                 "threads are abandoned",
                 threads.size(), stop_timeout_.count());
  }

 private:
  struct core {
    std::mutex mtx;
    std::condition_variable cv;
    std::condition_variable exit_cv;
    std::deque<std::unique_ptr<pool_job>> queue;
    std::size_t idle = 0;
    std::size_t running = 0;
    std::size_t finished = 0;
    std::size_t exited = 0;
    bool stopping = false;

    void work() {
      std::unique_lock<std::mutex> guard{mtx};
      for (;;) {
        ++idle;
        cv.wait(guard, [this] { return stopping || !queue.empty(); });
        --idle;
        if (queue.empty())
          break; // stopping
        auto job = std::move(queue.front());
        queue.pop_front();
        ++running;
        guard.unlock();
        job->run();
        job.reset();
        guard.lock();
        --running;
        ++finished;
      }
      ++exited;
      exit_cv.notify_all();
    }
  };

  std::shared_ptr<core> core_;
  std::vector<std::thread> threads_; // guarded by core_->mtx
  const std::size_t max_threads_;
  const std::size_t max_queue_;
  const std::chrono::milliseconds stop_timeout_;
  std::shared_ptr<spdlog::logger> log_;
};

} // namespace

caf::error submit_to_pool(caf::actor_system& sys,
                          std::unique_ptr<pool_job> job) noexcept {
  auto* ctx = node_context_of(sys);
  if (ctx == nullptr)
    return make_error(errc::invalid_argument,
                      "offload: the actor does not run on a coactor node");
  try {
    return ctx->service<worker_pool>().submit(std::move(job));
  } catch (const std::exception& e) {
    return make_error(errc::resource_exhausted,
                      std::string{"offload: "} + e.what());
  }
}

pool_stats pool_stats_of(caf::actor_system& sys) noexcept {
  auto* ctx = node_context_of(sys);
  if (ctx == nullptr)
    return {};
  try {
    return ctx->service<worker_pool>().stats();
  } catch (...) {
    return {};
  }
}

} // namespace coactor::detail
