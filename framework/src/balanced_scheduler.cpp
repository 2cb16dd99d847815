// The `balanced` scheduler: per-worker queues, O(1) stealing, idle workers
// woken for surplus jobs.
#include "balanced_scheduler.hpp"

#include "coactor/detail/caf_internals.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>

#include <caf/actor_system.hpp>
#include <caf/execution_unit.hpp>
#include <caf/logger.hpp>
#include <caf/resumable.hpp>

namespace coactor::detail {

namespace {

// Queued behind every worker's jobs by `stop`; a worker that reaches it ends.
// Never resumed, never stolen.
char stop_marker_storage;

caf::resumable* stop_marker() noexcept {
  return reinterpret_cast<caf::resumable*>(&stop_marker_storage);
}

} // namespace

class balanced_scheduler::worker final : public caf::execution_unit {
 public:
  worker(balanced_scheduler* parent, std::size_t id)
      : caf::execution_unit(&parent->system()), parent_(parent), id_(id) {
    // nop
  }

  void start() {
    thread_ = std::thread{[this] {
      run();
    }};
  }

  std::thread& thread() { return thread_; }

  /// Queues a job from another thread.
  void external_enqueue(caf::resumable* job) {
    std::size_t size = 0;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      jobs_.push_back(job);
      size = jobs_.size();
      size_.store(size);
      if (sleeping_.load()) {
        wake_ = true;
        cv_.notify_one();
        return;
      }
    }
    if (size >= 2)
      parent_->wake_one(this);
  }

  /// Queues a job made runnable by the job this worker runs (CAF calls it
  /// from this worker's thread only).
  void exec_later(caf::resumable* job) override { push(job, true); }

  /// Takes the oldest job if the queue holds at least `min` (never the stop
  /// marker: what is queued before it is this worker's to run).
  caf::resumable* take_tail(std::size_t min) {
    if (size_.load(std::memory_order_relaxed) < min)
      return nullptr;
    std::lock_guard<std::mutex> guard{mtx_};
    if (jobs_.size() < min || jobs_.back() == stop_marker())
      return nullptr;
    auto* job = jobs_.back();
    jobs_.pop_back();
    size_.store(jobs_.size());
    return job;
  }

  /// Ends the worker's wait, if it waits.
  bool wake() {
    if (!sleeping_.load())
      return false;
    std::lock_guard<std::mutex> guard{mtx_};
    if (!sleeping_.load() || wake_)
      return false;
    wake_ = true;
    cv_.notify_one();
    return true;
  }

  std::size_t size() const { return size_.load(); }

  /// Whether the worker is awake with nothing queued: running its last job,
  /// or looking for work (a hint; the state may change right away).
  bool awake_and_empty() const {
    return !sleeping_.load(std::memory_order_relaxed)
           && size_.load(std::memory_order_relaxed) == 0 && !ended();
  }

  /// Whether the worker reached its stop marker: a job queued here now runs
  /// only if a running worker steals it.
  bool ended() const { return ended_.load(); }

  std::size_t id() const { return id_; }

  /// Releases the jobs left in the queue (after the thread ended).
  void release_jobs() {
    for (auto* job = take_head(); job != nullptr; job = take_head())
      caf::scheduler::abstract_coordinator::cleanup_and_release(job);
  }

 private:
  void run() {
    coactor::detail::name_this_thread("caf.multiplexer");
    // As CAF's workers do: parts of CAF look up the actor system through
    // the thread's logger (without it, networked nodes intermittently leak
    // actors at shutdown under ASan).
    caf::logger::set_current_actor_system(&system());
    system().thread_started();
    auto throughput = parent_->max_throughput();
    while (auto* job = dequeue()) {
      switch (job->resume(this, throughput)) {
        case caf::resumable::resume_later: push(job, false); break;
        case caf::resumable::done:
        case caf::resumable::awaiting_message:
          intrusive_ptr_release(job);
          break;
        case caf::resumable::shutdown_execution_unit:
          // Not used by this scheduler; CAF's own stop protocol would end
          // the worker here.
          system().thread_terminates();
          return;
      }
    }
    system().thread_terminates();
  }

  void push(caf::resumable* job, bool front) {
    std::size_t size = 0;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (front)
        jobs_.push_front(job);
      else
        jobs_.push_back(job);
      size = jobs_.size();
      size_.store(size);
    }
    // This worker is busy: one queued job is its next; a second is work for
    // another worker.
    if (size >= 2)
      parent_->wake_one(this);
  }

  caf::resumable* take_head() {
    if (size_.load(std::memory_order_relaxed) == 0)
      return nullptr;
    std::lock_guard<std::mutex> guard{mtx_};
    if (jobs_.empty())
      return nullptr;
    auto* job = jobs_.front();
    jobs_.pop_front();
    size_.store(jobs_.size());
    return job;
  }

  // Takes the oldest job of another worker whose queue holds at least `min`;
  // tries the last successful victim first, then every other worker.
  caf::resumable* steal(std::size_t min) {
    auto n = parent_->workers_.size();
    for (std::size_t k = 0; k < n; ++k) {
      auto victim = (next_victim_ + k) % n;
      if (victim == id_)
        continue;
      if (auto* job = parent_->workers_[victim]->take_tail(min)) {
        next_victim_ = victim;
        return job;
      }
    }
    return nullptr;
  }

  // Returns the next job, or null once this worker reached its stop marker.
  caf::resumable* dequeue() {
    auto* job = next_job();
    if (job != stop_marker())
      return job;
    ended_.store(true);
    return nullptr;
  }

  caf::resumable* next_job() {
    if (auto* job = take_head())
      return job;
    // Just ran out of work: more is likely to come soon.
    for (std::size_t i = 0; i < spin_attempts; ++i) {
      if (auto* job = steal(2))
        return job;
      std::this_thread::yield();
      if (auto* job = take_head())
        return job;
    }
    for (;;) {
      auto timed_out = !sleep();
      if (auto* job = take_head())
        return job;
      if (auto* job = steal(timed_out ? 1 : 2))
        return job;
    }
  }

  // Waits until woken (returns true) or `idle_timeout` (returns false).
  // A worker that queues a second job stores its size, then reads
  // `sleepers_`; this worker stores `sleeping_` and `sleepers_`, then reads
  // the sizes (all sequentially consistent): one of the two sees the other,
  // so no surplus stays queued while every other worker sleeps.
  bool sleep() {
    std::unique_lock<std::mutex> guard{mtx_};
    sleeping_.store(true);
    parent_->sleepers_.fetch_add(1);
    auto woken = true;
    if (!wake_ && jobs_.empty() && !parent_->surplus_elsewhere(this))
      woken = cv_.wait_for(guard, idle_timeout,
                           [this] { return wake_ || !jobs_.empty(); });
    wake_ = false;
    sleeping_.store(false);
    parent_->sleepers_.fetch_sub(1);
    return woken;
  }

  balanced_scheduler* parent_;
  std::size_t id_;
  std::size_t next_victim_ = 0;
  std::thread thread_;
  std::mutex mtx_;
  std::condition_variable cv_;
  // Front: the next job to run; back: the oldest (stolen first).
  std::deque<caf::resumable*> jobs_;
  // `jobs_.size()`, readable without the lock.
  std::atomic<std::size_t> size_{0};
  // Set under `mtx_` while the worker waits on `cv_`.
  std::atomic<bool> sleeping_{false};
  // Set once the worker reached its stop marker.
  std::atomic<bool> ended_{false};
  // Set under `mtx_` to end the wait.
  bool wake_ = false;
};

balanced_scheduler::balanced_scheduler(caf::actor_system& sys)
    : caf::scheduler::abstract_coordinator(sys) {
  // nop
}

balanced_scheduler::~balanced_scheduler() = default;

void balanced_scheduler::enqueue(caf::resumable* job) {
  // A job from outside (a foreign thread, the clock, the network) goes to a
  // worker that is awake with nothing queued, if there is one: it runs the
  // job next without a wake-up (a futex call here and a context switch
  // there). Round robin over every worker would wake a sleeping one for
  // every other job and move a request chain (a gateway and the actors it
  // asks) between workers: the pipelined gateway measured 30% slower, with
  // twice the context switches. Otherwise round robin, which wakes the
  // chosen worker if it sleeps. Either way a job may wait behind a running
  // one; an idle worker takes it after at most `idle_timeout`. Workers that
  // reached their stop marker are skipped while others run: work queued
  // there would be released unrun (see `stop`).
  auto n = workers_.size();
  auto start = next_++;
  for (std::size_t k = 0; k < n; ++k) {
    auto& w = workers_[(start + k) % n];
    if (w->awake_and_empty()) {
      w->external_enqueue(job);
      return;
    }
  }
  for (std::size_t k = 0; k < n; ++k) {
    auto& w = workers_[(start + k) % n];
    if (!w->ended() || k == n - 1) {
      w->external_enqueue(job);
      return;
    }
  }
}

caf::actor_clock& balanced_scheduler::clock() noexcept {
  return clock_;
}

void balanced_scheduler::start() {
  auto n = num_workers();
  workers_.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    workers_.push_back(std::make_unique<worker>(this, i));
  for (auto& w : workers_)
    w->start();
  timer_ = std::thread{[this] {
    coactor::detail::name_this_thread("caf.clock");
    caf::logger::set_current_actor_system(&system());
    system().thread_started();
    clock_.run_dispatch_loop();
    system().thread_terminates();
  }};
  abstract_coordinator::start();
}

void balanced_scheduler::stop() {
  // CAF's stop protocol: the actor system calls this after every actor it
  // awaits ended, but hidden actors (CAF's brokers, coactor's services) may
  // still have work queued, such as their exit message. Each worker runs
  // what is queued before its stop marker, then ends. What is queued behind
  // a marker may still be stolen by a running worker; what is left after
  // every worker ended is released unrun (`cleanup_and_release`, as CAF's
  // schedulers do), which skips the actor's `on_exit`: a stateful actor's
  // state, and every handle it holds, would never be destroyed. Workers that
  // ended as soon as their own queue ran dry (the first version of this
  // scheduler) left such work behind: networked test nodes leaked CAF's BASP
  // broker under ASan in 14 of 30 runs, against 5 of 180 with this protocol.
  for (auto& w : workers_)
    w->external_enqueue(stop_marker());
  stop_actors();
  for (auto& w : workers_)
    w->thread().join();
  for (auto& w : workers_)
    w->release_jobs();
  clock_.cancel_dispatch_loop();
  timer_.join();
}

void balanced_scheduler::wake_one(const worker* except) {
  if (sleepers_.load() == 0)
    return;
  for (auto& w : workers_)
    if (w.get() != except && w->wake())
      return;
}

bool balanced_scheduler::surplus_elsewhere(const worker* self) const {
  for (auto& w : workers_)
    if (w.get() != self && w->size() >= 2)
      return true;
  return false;
}

caf::actor_system::module* make_balanced_scheduler(caf::actor_system& sys) {
  return new balanced_scheduler(sys);
}

} // namespace coactor::detail
