// coactor::actors coroutine pieces: a producer task that co_awaits its emits,
// a consumer whose handler co_awaits, and co_await of a pipeline run.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include <caf/scheduled_actor.hpp>
#include <caf/timespan.hpp>

#include "coactor/actors/pipeline.hpp"
#include "coactor/from_callback.hpp"
#include "coactor/start.hpp"
#include "coactor/task.hpp"

namespace coactor::actors {

// -- co_await a pipeline run
// ---------------------------------------------------

/// Starts `p` and returns an awaitable for its outcome:
/// `auto summary = co_await async_run(self, p);` yields
/// `caf::expected<pipeline_summary>` (the run's error, `errc::timeout` after
/// `timeout`, `errc::cancelled` when the awaiting task was cancelled; the
/// pipeline itself keeps running then — cancel it through its stages).
///
/// Threading: use inside a `coactor::task` of `self`; the awaiting task
/// resumes in `self`'s context.
inline auto async_run(caf::scheduled_actor* self, runnable_pipeline p,
                      caf::timespan timeout = caf::timespan::max()) {
  return from_callback<pipeline_summary>(
      self, timeout, [p = std::move(p)](done_callback<pipeline_summary> done) {
        auto started = p.start([done](caf::expected<pipeline_summary> r) {
          if (r)
            done(std::move(*r));
          else
            done(std::move(r.error()));
        });
        if (!started)
          done(std::move(started.error()));
      });
}

namespace detail {

// -- producer task
// -------------------------------------------------------------

/// What an emitter shares with its producer actor (actor-confined).
template <class T>
struct emitter_core {
  caf::event_based_actor* self = nullptr;
  outbound<T>* out = nullptr;
  stage_probe* probe = nullptr;
  size_t max_batch = 1024;
  std::vector<T> staged;
  std::optional<done_callback<void>> waiter;
  bool flush_scheduled = false;

  /// Items the downstreams accept beyond those queued or staged.
  [[nodiscard]] int64_t room() const noexcept {
    return out->credit() - static_cast<int64_t>(out->buffered())
           - static_cast<int64_t>(staged.size());
  }

  void flush() {
    if (!staged.empty()) {
      probe->add_in(staged.size());
      out->push(std::move(staged), now_ns());
      staged = std::vector<T>{};
    }
    probe->add_out(out->emit(self));
    probe->set_buffered(out->buffered());
  }

  void wake() {
    if (waiter) {
      auto w = std::move(*waiter);
      waiter.reset();
      w();
    }
  }
};

template <class T>
task<void> emit_item(std::shared_ptr<emitter_core<T>> core, T x) {
  while (core->room() <= 0) {
    core->flush();
    if (core->room() > 0)
      break;
    auto wait = from_callback<void>(core->self, caf::timespan::max(),
                                    [core](done_callback<void> done) {
                                      core->waiter.emplace(std::move(done));
                                    });
    auto r = co_await wait;
    if (!r)
      co_await fail(std::move(r.error()));
  }
  core->staged.push_back(std::move(x));
  auto room = core->out->credit() - static_cast<int64_t>(core->out->buffered());
  if (core->staged.size() >= core->max_batch
      || static_cast<int64_t>(core->staged.size()) >= room) {
    core->flush();
  } else if (!core->flush_scheduled) {
    // Items staged while the task awaits something else go out soon.
    core->flush_scheduled = true;
    core->self->send(core->self, resume_atom::value);
  }
}

} // namespace detail

/// The emitting end a producer task writes to.
///
/// Threading: use only inside the producer's task (it runs in the producer
/// actor). Copies refer to the same stream.
template <class T>
class emitter {
 public:
  explicit emitter(std::shared_ptr<detail::emitter_core<T>> core)
      : core_(std::move(core)) {}

  /// Emits `x`: `co_await out.emit(x);` completes at once while the
  /// downstreams granted credit, and otherwise waits for `demand` (this is
  /// the backpressure). Yields an error (and the task should return) only
  /// when the stream is being torn down. Items are sent in batches.
  task<void> emit(T x) { return detail::emit_item(core_, std::move(x)); }

 private:
  std::shared_ptr<detail::emitter_core<T>> core_;
};

namespace detail {

template <class T>
struct task_source_args {
  stage_context ctx;
  std::vector<peer> downs;
  routing<T> route;
  size_t max_batch = 1024;
  std::function<task<void>(emitter<T>)> body;
};

template <class T>
struct task_source_state {
  static inline const char* name = "coactor.producer";
  stage_context ctx;
  outbound<T> out{{}, {}, 1};
  std::shared_ptr<emitter_core<T>> core;
  bool task_done = false;
  bool finished = false;
};

template <class T>
void task_source_check(caf::stateful_actor<task_source_state<T>>* self) {
  auto& st = self->state;
  if (st.finished)
    return;
  st.core->flush();
  if (st.task_done && st.core->staged.empty() && st.out.buffered() == 0)
    finish_stage(self);
}

template <class T>
caf::behavior task_source_actor(caf::stateful_actor<task_source_state<T>>* self,
                                task_source_args<T> args) {
  auto& st = self->state;
  st.ctx = std::move(args.ctx);
  st.out = outbound<T>{args.downs, std::move(args.route), args.max_batch};
  st.core = std::make_shared<emitter_core<T>>();
  st.core->self = self;
  st.core->out = &st.out;
  st.core->probe = st.ctx.probe.get();
  st.core->max_batch = std::max<size_t>(1, args.max_batch);
  open_downstreams(self, args.downs);
  fail_on_peer_down(self);
  caf::error err;
  std::optional<task<void>> body;
  err = guarded(*st.ctx.probe, [&]() -> caf::error {
    body.emplace(args.body(emitter<T>{st.core}));
    return {};
  });
  if (err) {
    fail_stage(self, err);
    return {};
  }
  start(self, std::move(*body), [self](caf::expected<void> r) {
    auto& st = self->state;
    if (!r) {
      fail_stage(self, stage_error(*st.ctx.probe, errc::stage_failed,
                                   describe(r.error())));
      return;
    }
    st.task_done = true;
    task_source_check(self);
  });
  return {
      [self](demand_atom, int64_t n) {
        if (!take_demand(self, n))
          return;
        task_source_check(self);
        self->state.core->wake();
      },
      [self](resume_atom) {
        auto& st = self->state;
        st.core->flush_scheduled = false;
        task_source_check(self);
      },
      [self](stream_error_atom, caf::error& err) { fail_stage(self, err); },
  };
}

// -- consumer task
// -------------------------------------------------------------

template <class T>
using async_item_fn = std::function<task<void>(caf::scheduled_actor*, T)>;

template <class T>
task<void> consume_items(caf::scheduled_actor* self, async_item_fn<T> fn,
                         std::vector<T> items) {
  for (auto& x : items) {
    auto r = co_await fn(self, std::move(x));
    if (!r)
      co_await fail(std::move(r.error()));
  }
}

template <class T>
struct async_sink_args {
  stage_context ctx;
  size_t upstreams = 1;
  size_t window = 2048;
  async_item_fn<T> fn;
};

template <class T>
struct async_sink_state {
  static inline const char* name = "coactor.consumer";
  stage_context ctx;
  inbound in{1, 1};
  async_item_fn<T> fn;
  std::deque<batch_message<T>> pending;
  size_t held = 0;
  bool busy = false;
  bool finished = false;
};

template <class T>
void async_sink_next(caf::stateful_actor<async_sink_state<T>>* self) {
  auto& st = self->state;
  if (st.finished || st.busy)
    return;
  if (st.pending.empty()) {
    if (st.in.all_ended())
      finish_stage(self);
    return;
  }
  auto b = std::move(st.pending.front());
  st.pending.pop_front();
  auto n = b.items.size();
  auto emitted = b.emitted;
  st.busy = true;
  start(self, consume_items<T>(self, st.fn, std::move(b.items)),
        [self, n, emitted](caf::expected<void> r) {
          auto& st = self->state;
          st.busy = false;
          st.held -= n;
          if (!r) {
            fail_stage(self, stage_error(*st.ctx.probe, errc::stage_failed,
                                         describe(r.error())));
            return;
          }
          st.ctx.probe->add_out(n);
          if (n > 0)
            st.ctx.probe->latency.record(now_ns() - emitted, n);
          st.in.grant(self, st.held);
          async_sink_next(self);
        });
}

template <class T>
caf::behavior async_sink_actor(caf::stateful_actor<async_sink_state<T>>* self,
                               async_sink_args<T> args) {
  auto& st = self->state;
  st.ctx = std::move(args.ctx);
  st.in = inbound{args.upstreams, std::max<size_t>(1, args.window)};
  st.fn = std::move(args.fn);
  fail_on_peer_down(self);
  return {
      [self](open_atom, std::string& name) {
        open_upstream(self, name, self->state.held);
      },
      [self](open_atom, std::string&, uint64_t) {
        fail_stage(self,
                   stage_error(*self->state.ctx.probe, errc::invalid_argument,
                               "at-least-once delivery: an async "
                               "consumer does not acknowledge"));
      },
      [self](batch_message<T>& b) {
        auto& st = self->state;
        if (st.finished)
          return;
        auto* p = st.in.find(self->current_sender()->address());
        auto over = p != nullptr && !p->ended
                        ? st.in.arrived(*p, b.seq, b.items.size())
                        : caf::expected<size_t>{make_error(
                            errc::protocol_violation, "unknown upstream")};
        if (!over || *over > 0) {
          fail_stage(self, stage_error(*st.ctx.probe, errc::protocol_violation,
                                       over ? "credit exceeded"
                                            : describe(over.error())));
          return;
        }
        st.ctx.probe->add_in(b.items.size());
        st.held += b.items.size();
        st.pending.push_back(std::move(b));
        async_sink_next(self);
      },
      [self](end_atom) {
        if (end_upstream(self))
          async_sink_next(self);
      },
      [self](stream_error_atom, caf::error& err) { fail_stage(self, err); },
  };
}

} // namespace detail

// -- specs
// -----------------------------------------------------------------------

/// Makes a producer running the coroutine `body(emitter<T>)`: it emits with
/// `co_await out.emit(x)` (which waits for credit) and ends the stream by
/// returning; returning an error (`co_await coactor::fail(err)`) or throwing
/// fails the stage. `body` must return a `coactor::task<void>`; write it as
/// a free function with by-value parameters, not a capturing coroutine
/// lambda. Use it with `pipeline(n).from_task(...)`.
template <class T>
struct task_producer : detail::named_spec<task_producer<T>> {
  using value_type = T;
  size_t max_batch = 1024;
  std::function<task<void>(emitter<T>)> body;

  /// @private
  pipeline_builder<T> start_pipeline(coactor::node& n) const;
};

/// Returns a task producer of `T` items.
template <class T, class F>
task_producer<T> from_task(F body, size_t max_batch = 1024) {
  task_producer<T> p;
  p.name = "producer";
  p.max_batch = max_batch;
  p.body = std::move(body);
  return p;
}

/// A consumer whose handler is a coroutine `task<void> f(caf::scheduled_actor*
/// self, T item)`: it may `co_await` (ask, sleep, ...). Items are handled
/// one after the other; credit is returned when a batch was handled, so a
/// slow handler slows the producer down. An error (`co_await
/// coactor::fail(err)`) or exception fails the stage.
template <class T>
struct for_each_async_spec : detail::named_spec<for_each_async_spec<T>> {
  detail::async_item_fn<T> fun;
  size_t window = default_window;

  /// @private
  template <class U>
  caf::actor spawn_one(detail::build_context& ctx, detail::stage_context sc,
                       size_t upstreams) const {
    static_assert(std::is_same_v<T, U>,
                  "for_each_async<T>: T must be the pipeline's item type");
    detail::async_sink_args<T> a;
    a.ctx = std::move(sc);
    a.upstreams = upstreams;
    a.window = window;
    a.fn = fun;
    return ctx.node->spawn(detail::async_sink_actor<T>, std::move(a));
  }
};

/// Returns an asynchronous consumer of `T` items.
template <class T, class F>
for_each_async_spec<T> for_each_async(F f, size_t window = default_window) {
  for_each_async_spec<T> s;
  s.name = "consumer";
  s.fun = std::move(f);
  s.window = window;
  return s;
}

template <class T>
pipeline_builder<T> task_producer<T>::start_pipeline(coactor::node& n) const {
  const auto& p = *this;
  caf::error err;
  if (p.max_batch == 0)
    err = make_error(errc::invalid_argument,
                     "producer '" + p.name + "': max_batch must be at least 1");
  std::vector<std::string> names;
  auto name = detail::unique_name(names, p.name);
  auto prefix = [p, name](detail::build_context& ctx,
                          const std::vector<detail::peer>& downs,
                          routing<T> r) {
    detail::task_source_args<T> a;
    a.ctx = ctx.add(name, name, "producer", 0, 0);
    a.downs = downs;
    a.route = std::move(r);
    a.max_batch = p.max_batch;
    a.body = p.body;
    auto hdl = ctx.node->spawn(detail::task_source_actor<T>, std::move(a));
    ctx.run->actors.back() = hdl;
  };
  return pipeline_builder<T>{&n, std::move(prefix), 1,
                             1,  std::move(names),  std::move(err)};
}

} // namespace coactor::actors
