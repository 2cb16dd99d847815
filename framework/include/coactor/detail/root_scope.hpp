// Internals: the scope of a task started in an actor; owns the root frame.
#pragma once

#include <atomic>
#include <coroutine>
#include <utility>

#include <caf/intrusive_ptr.hpp>
#include <caf/ref_counted.hpp>

#include "coactor/detail/scope.hpp"
#include "coactor/task.hpp"

namespace coactor::detail {

/// What a `task_handle` sees of a root scope. Two counts, as in
/// `std::shared_ptr`: the strong count (`caf::ref_counted`, held by pending
/// waits) keeps the frames alive; the weak count (handles, plus one while
/// the strong count is positive) keeps this object's memory alive. Handles
/// therefore never keep frames (or the actor's state they reference) alive.
class root_base : public scope, public completion {
 public:
  explicit root_base(caf::scheduled_actor* self) noexcept
      : scope(self, nullptr) {}

  /// Returns whether the task ended or its frame was destroyed.
  [[nodiscard]] bool finished() const noexcept { return finished_; }

  /// Cancels the task unless it ended. Actor context only.
  void cancel_root() {
    if (!finished_ && !frames_gone_)
      cancel();
  }

  void weak_ref() noexcept { weak_.fetch_add(1, std::memory_order_relaxed); }

  void weak_deref() noexcept {
    if (weak_.fetch_sub(1, std::memory_order_acq_rel) == 1)
      delete this;
  }

  // Called when the strong count drops to zero: destroy the frames now, the
  // memory when the last handle is gone.
  void request_deletion(bool) const noexcept override {
    auto self = const_cast<root_base*>(this);
    self->frames_gone_ = true;
    self->drop_frames();
    self->weak_deref();
  }

 protected:
  /// Destroys the frames (delivers "abandoned" to the sink if unfinished).
  virtual void drop_frames() noexcept = 0;

  bool finished_ = false;
  bool frames_gone_ = false;

 private:
  std::atomic<int> weak_{1};
};

/// The scope of a root task. `Sink` receives the outcome exactly once:
/// `sink(caf::expected<T>&&)` when the task finished, or
/// `sink.abandoned()` when the frame is destroyed first (the actor exited).
template <class T, class Sink>
class root_scope final : public root_base {
 public:
  root_scope(caf::scheduled_actor* self, task<T> t, Sink sink)
      : root_base(self), task_(std::move(t)), sink_(std::move(sink)) {}

  /// Runs the task until its first suspension. The caller holds a reference.
  void run() {
    auto h = task_.handle();
    if (!h) {
      finished_ = true;
      sink_(caf::expected<T>{
          make_error(errc::invalid_argument, "started an empty task")});
      return;
    }
    h.promise().start_detached(this, this);
    h.resume();
  }

  std::coroutine_handle<> on_done() noexcept override {
    finished_ = true;
    sink_(task_.handle().promise().take());
    return std::noop_coroutine();
  }

 protected:
  void drop_frames() noexcept override {
    if (!finished_) {
      finished_ = true;
      sink_.abandoned();
    }
    task_ = task<T>{}; // destroys the frame and every nested frame
  }

 private:
  task<T> task_;
  [[no_unique_address]] Sink sink_;
};

/// A weak reference to a root scope (what a `task_handle` holds).
class weak_root {
 public:
  weak_root() noexcept = default;

  explicit weak_root(root_base* ptr) noexcept : ptr_(ptr) {
    if (ptr_ != nullptr)
      ptr_->weak_ref();
  }

  weak_root(const weak_root& other) noexcept : weak_root(other.ptr_) {}

  weak_root(weak_root&& other) noexcept
      : ptr_(std::exchange(other.ptr_, nullptr)) {}

  weak_root& operator=(weak_root other) noexcept {
    std::swap(ptr_, other.ptr_);
    return *this;
  }

  ~weak_root() {
    if (ptr_ != nullptr)
      ptr_->weak_deref();
  }

  [[nodiscard]] root_base* get() const noexcept { return ptr_; }

 private:
  root_base* ptr_ = nullptr;
};

/// Starts `t` as a root task of `self` with `sink`.
template <class T, class Sink>
weak_root start_root(caf::scheduled_actor* self, task<T> t, Sink sink) {
  auto* root = new root_scope<T, Sink>(self, std::move(t), std::move(sink));
  caf::intrusive_ptr<root_base> guard{root, false}; // adopts the first ref
  weak_root result{root};
  root->run();
  return result;
}

} // namespace coactor::detail
