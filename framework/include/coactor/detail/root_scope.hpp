// Internals: the scope of a task started in an actor; owns the root frame.
#pragma once

#include <coroutine>
#include <utility>

#include <caf/intrusive_ptr.hpp>
#include <caf/make_counted.hpp>
#include <caf/ref_counted.hpp>

#include "coactor/detail/scope.hpp"
#include "coactor/task.hpp"

namespace coactor::detail {

/// Lets a `task_handle` reach a root scope while it lives.
class cancel_token : public caf::ref_counted {
 public:
  scope* target = nullptr;
  bool finished = false;
};

/// The scope of a root task. `Sink` receives the outcome exactly once:
/// `sink(caf::expected<T>&&)` when the task finished, or
/// `sink.abandoned()` when the frame is destroyed first (the actor exited).
template <class T, class Sink>
class root_scope final : public scope, public completion {
 public:
  root_scope(caf::scheduled_actor* self, task<T> t, Sink sink)
      : scope(self, nullptr), task_(std::move(t)), sink_(std::move(sink)),
        token_(caf::make_counted<cancel_token>()) {
    token_->target = this;
  }

  ~root_scope() override {
    token_->target = nullptr;
    token_->finished = true;
    if (!finished_)
      sink_.abandoned();
    // task_ destroys the frame (and every nested frame) here.
  }

  /// Runs the task until its first suspension. The caller holds a reference.
  void run() {
    auto h = task_.handle();
    if (!h) {
      finished_ = true;
      token_->finished = true;
      sink_(caf::expected<T>{
          make_error(errc::invalid_argument, "started an empty task")});
      return;
    }
    h.promise().start_detached(this, this);
    h.resume();
  }

  const caf::intrusive_ptr<cancel_token>& token() const noexcept {
    return token_;
  }

  std::coroutine_handle<> on_done() noexcept override {
    finished_ = true;
    token_->finished = true;
    sink_(task_.handle().promise().take());
    return std::noop_coroutine();
  }

 private:
  task<T> task_;
  Sink sink_;
  caf::intrusive_ptr<cancel_token> token_;
  bool finished_ = false;
};

/// Starts `t` as a root task of `self` with `sink`; returns its token.
template <class T, class Sink>
caf::intrusive_ptr<cancel_token> start_root(caf::scheduled_actor* self,
                                            task<T> t, Sink sink) {
  auto root = caf::make_counted<root_scope<T, Sink>>(self, std::move(t),
                                                     std::move(sink));
  root->run();
  return root->token();
}

} // namespace coactor::detail
