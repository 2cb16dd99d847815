// The per-node gateway actor behind async_ask / ask_future.
#include "coactor/gateway.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/logger.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>

#include "coactor/detail/caf_internals.hpp"
#include "coactor/metrics.hpp"
#include "coactor/timer.hpp"
#include "node_context.hpp"

namespace coactor::detail {

/// Wakes the gateway actor: "take what the inbox holds".
struct gateway_wake_msg {};

/// Sent by the gateway to itself: "run the callbacks of settled asks".
struct gateway_flush_msg {};

} // namespace coactor::detail

template <>
struct caf::allowed_unsafe_message_type<coactor::detail::gateway_wake_msg>
    : std::true_type {};

template <>
struct caf::allowed_unsafe_message_type<coactor::detail::gateway_flush_msg>
    : std::true_type {};

namespace coactor::detail {

namespace {

using job_ptr = std::shared_ptr<gateway_job>;

/// Jobs posted by foreign threads and not yet taken by the gateway actor.
/// Shared by the service (writers) and the actor (the reader).
struct gateway_inbox {
  std::mutex mtx;
  std::vector<job_ptr> jobs;
  // A wake-up message is on its way to the actor: later posts only append.
  bool wake_pending = false;
};

/// Swaps the actor's execution unit for a deferring one during a batch
/// (fact F3 of caf_internals.hpp); restores it and schedules what became
/// runnable on the way out. Without it a target that handles requests
/// faster than the gateway sends them goes idle after each one and is
/// scheduled again for the next: a scheduler hand-off (under the sharing
/// policy a mutex and a futex wake-up) per request. With it, a target is
/// scheduled once per burst.
class deferred_scheduling {
 public:
  deferred_scheduling(caf::event_based_actor* self, std::size_t jobs)
      : self_(self), real_(unit_of(self)) {
    if (real_ == nullptr || jobs < 2)
      return;
    try {
      unit_.emplace(real_, jobs + 8);
    } catch (...) {
      return; // out of memory: schedule as CAF would
    }
    use_unit(self_, &*unit_);
  }

  deferred_scheduling(const deferred_scheduling&) = delete;
  deferred_scheduling& operator=(const deferred_scheduling&) = delete;

  ~deferred_scheduling() {
    if (!unit_)
      return;
    use_unit(self_, real_);
    unit_->flush();
  }

 private:
  caf::event_based_actor* self_;
  caf::execution_unit* real_;
  std::optional<deferring_unit> unit_;
};

caf::behavior gateway_actor(caf::event_based_actor* self,
                            std::shared_ptr<gateway_inbox> inbox) {
  auto ctx = std::make_shared<gateway_context>(self);
  // Swapped with the inbox's vector: both keep their capacity, so a steady
  // stream of bursts allocates nothing here.
  auto batch = std::make_shared<std::vector<job_ptr>>();
  // When the gateway ends, queued jobs complete with node_stopped and settled
  // ones with their result, here, on the thread that ends the actor.
  self->attach_functor([inbox, ctx] {
    std::vector<job_ptr> orphans;
    {
      std::lock_guard<std::mutex> guard{inbox->mtx};
      orphans.swap(inbox->jobs);
    }
    ctx->deliver_settled();
  });
  return {
      [self, inbox, ctx, batch](gateway_wake_msg) {
        {
          std::lock_guard<std::mutex> guard{inbox->mtx};
          batch->swap(inbox->jobs);
          inbox->wake_pending = false;
        }
        {
          deferred_scheduling defer{self, batch->size()};
          for (auto& job : *batch) {
            try {
              auto* raw = job.get();
              raw->run(*ctx, std::move(job));
            } catch (...) {
              // Out of memory: the job's destructor reports node_stopped.
            }
          }
        }
        batch->clear();
        // Keep the capacity of ordinary bursts, not of a rare huge one.
        if (batch->capacity() > 4096)
          batch->shrink_to_fit();
      },
      [ctx](gateway_flush_msg) { ctx->deliver_settled(); },
  };
}

/// One hidden gateway actor per node: hidden, so that `node::stop` does not
/// wait for it as for an unowned actor; ended by `stop` once the node's own
/// actors ended. Pending requests then complete with `errc::node_stopped`
/// (their completions are destroyed with the actor's response handlers, or
/// with the inbox when the actor never took them).
///
/// Foreign threads append jobs to the inbox; only the first append of a
/// burst sends the actor a message, so a burst of asks costs one mailbox
/// message and at most one scheduler wake-up.
class gateway_service final : public node_service {
 public:
  explicit gateway_service(node_context& ctx)
      : ctx_(ctx), inbox_(std::make_shared<gateway_inbox>()) {
    add_metrics();
    // Spawning pins the calling thread to the actor system (see
    // release_thread); undo that unless the thread was pinned before (a
    // worker thread, or a thread that owns the node anyway).
    auto pinned = caf::logger::current_logger() != nullptr;
    hdl_ = ctx.system().spawn<caf::hidden>(gateway_actor, inbox_);
    if (!pinned)
      release_thread();
  }

  bool post(job_ptr& job) {
    std::lock_guard<std::mutex> guard{inbox_->mtx};
    if (!hdl_) {
      count(refused_);
      return false;
    }
    inbox_->jobs.push_back(std::move(job)); // strong guarantee: job kept
    count(calls_);
    if (!inbox_->wake_pending) {
      inbox_->wake_pending = true;
      hdl_->enqueue(caf::make_mailbox_element(nullptr, caf::make_message_id(),
                                              {}, gateway_wake_msg{}),
                    nullptr);
    }
    return true;
  }

  void stop() override {
    caf::actor hdl;
    {
      std::lock_guard<std::mutex> guard{inbox_->mtx};
      hdl.swap(hdl_);
    }
    if (!hdl)
      return;
    caf::anon_send_exit(hdl, caf::exit_reason::kill);
    if (ctx_.opts.policy == scheduler_policy::testing)
      run_testing_scheduler(ctx_.system());
  }

 private:
  void add_metrics() {
    auto* reg = ctx_.opts.metrics ? metrics::of(ctx_.system()) : nullptr;
    if (reg == nullptr)
      return;
    if (auto fam = reg->add_counter("coactor_gateway_calls_total",
                                    "Asks from non-actor threads (async_ask, "
                                    "ask_future) handed to the gateway."))
      calls_ = *(*fam)->get({});
    if (auto fam = reg->add_counter("coactor_gateway_refused_total",
                                    "Asks from non-actor threads refused "
                                    "because the node was stopping."))
      refused_ = *(*fam)->get({});
  }

  // Under inbox_->mtx: one writer at a time.
  static void count(metrics::counter* c) noexcept {
    if (c != nullptr)
      c->add_owned();
  }

  node_context& ctx_;
  std::shared_ptr<gateway_inbox> inbox_;
  caf::actor hdl_; // guarded by inbox_->mtx
  metrics::counter* calls_ = nullptr;
  metrics::counter* refused_ = nullptr;
};

} // namespace

bool post_to_gateway(node& n, std::shared_ptr<gateway_job>& job) noexcept {
  auto* ctx = n.context();
  if (ctx == nullptr || !ctx->running())
    return false;
  try {
    return ctx->service<gateway_service>().post(job);
  } catch (...) {
    return false; // out of memory
  }
}

caf::error request_error(caf::error err, const std::string& what) {
  if (err.category() == caf::atom("system")) {
    switch (static_cast<caf::sec>(err.code())) {
      case caf::sec::request_timeout:
        return make_error(errc::timeout, what + ": no reply in time");
      case caf::sec::request_receiver_down:
        return make_error(errc::target_down, what + ": the target is down");
      case caf::sec::unexpected_response:
        return make_error(errc::unexpected_reply,
                          what + ": the reply has an unexpected type");
      default: break;
    }
  }
  return err;
}

std::string describe_ask(caf::actor_id target) {
  return "ask actor #" + std::to_string(target);
}

// -- gateway_context ----------------------------------------------------------

gateway_context::gateway_context(caf::event_based_actor* self) noexcept
    : self_(self) {}

void gateway_context::settled(std::shared_ptr<gateway_job> job) {
  settled_.push_back(std::move(job));
  if (flush_pending_)
    return;
  flush_pending_ = true;
  // Behind the messages already in the mailbox (more replies, likely).
  post_to_self(self_, caf::make_message_id(), gateway_flush_msg{});
}

void gateway_context::deliver_settled() noexcept {
  flush_pending_ = false;
  // A callback cannot reach this actor, so nothing is settled meanwhile;
  // swapping keeps both vectors' capacity all the same.
  delivering_.swap(settled_);
  for (auto& job : delivering_)
    job->deliver();
  delivering_.clear();
}

// -- request_deadlines --------------------------------------------------------

struct request_deadlines::impl {
  using time_point = caf::actor_clock::time_point;

  struct entry {
    time_point due;
    uint64_t ticket;
    uint64_t rid;
  };

  // Per distinct timeout, deadlines in the order made (hence due order).
  std::map<caf::timespan, std::deque<entry>> fifos;
  // live[t - first_ticket]: request of ticket t still pending. Trimmed at
  // the front, so it spans the tickets since the oldest pending request.
  std::deque<bool> live;
  uint64_t first_ticket = 0;
  std::size_t pending = 0;
  timer tick;
  time_point tick_at = time_point::max();

  bool is_live(uint64_t ticket) const noexcept {
    return ticket >= first_ticket && ticket - first_ticket < live.size()
           && live[ticket - first_ticket];
  }

  void drop_dead_front(std::deque<entry>& q) noexcept {
    while (!q.empty() && !is_live(q.front().ticket))
      q.pop_front();
  }

  void arm(caf::event_based_actor* self, time_point due) {
    tick.cancel();
    tick_at = due;
    tick = call_at(self, due, [this, self] { fire(self); });
  }

  void fire(caf::event_based_actor* self) {
    tick_at = time_point::max();
    auto now = self->clock().now();
    auto next = time_point::max();
    for (auto i = fifos.begin(); i != fifos.end();) {
      auto& q = i->second;
      drop_dead_front(q);
      while (!q.empty() && q.front().due <= now) {
        auto rid = q.front().rid;
        forget(q.front().ticket);
        q.pop_front();
        // The response handler takes it as CAF's own request timeout.
        post_to_self(self, caf::message_id{rid},
                     caf::make_error(caf::sec::request_timeout));
        drop_dead_front(q);
      }
      if (q.empty()) {
        i = fifos.erase(i);
      } else {
        next = std::min(next, q.front().due);
        ++i;
      }
    }
    if (next != time_point::max())
      arm(self, next);
  }

  void forget(uint64_t ticket) noexcept {
    if (!is_live(ticket))
      return;
    live[ticket - first_ticket] = false;
    --pending;
    while (!live.empty() && !live.front()) {
      live.pop_front();
      ++first_ticket;
    }
  }
};

request_deadlines::request_deadlines() : impl_(std::make_unique<impl>()) {}

request_deadlines::~request_deadlines() = default;

uint64_t request_deadlines::track(caf::event_based_actor* self,
                                  caf::message_id rid, caf::timespan timeout) {
  auto& d = *impl_;
  auto due = self->clock().now() + timeout;
  auto ticket = d.first_ticket + d.live.size();
  auto& q = d.fifos[timeout];
  // Replies mostly come in request order: trimming here keeps the FIFO as
  // short as the requests still pending.
  d.drop_dead_front(q);
  q.push_back({due, ticket, rid.integer_value()});
  d.live.push_back(true);
  ++d.pending;
  if (due < d.tick_at)
    d.arm(self, due);
  return ticket;
}

void request_deadlines::forget(uint64_t ticket) noexcept {
  impl_->forget(ticket);
}

std::size_t request_deadlines::size() const noexcept {
  return impl_->pending;
}

} // namespace coactor::detail
