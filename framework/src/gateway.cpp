// The per-node gateway actor behind async_ask / ask_future.
#include "coactor/gateway.hpp"

#include <map>
#include <mutex>
#include <unordered_map>

#include <caf/actor.hpp>
#include <caf/logger.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>

#include "coactor/timer.hpp"
#include "node_context.hpp"

namespace coactor::detail {

namespace {

caf::behavior gateway_actor(caf::event_based_actor* self) {
  auto dl = std::make_shared<request_deadlines>();
  return {[self, dl](gateway_msg& msg) {
    if (auto job = std::move(msg.job))
      job->run(self, *dl);
  }};
}

/// One hidden gateway actor per node: hidden, so that `node::stop` does not
/// wait for it as for an unowned actor; ended by `stop` once the node's own
/// actors ended. Pending requests then complete with `errc::node_stopped`
/// (their completions are destroyed with the actor's response handlers).
class gateway_service final : public node_service {
 public:
  explicit gateway_service(node_context& ctx) : ctx_(ctx) {
    // Spawning pins the calling thread to the actor system (see
    // release_thread); undo that unless the thread was pinned before (a
    // worker thread, or a thread that owns the node anyway).
    auto pinned = caf::logger::current_logger() != nullptr;
    hdl_ = ctx.system().spawn<caf::hidden>(gateway_actor);
    if (!pinned)
      release_thread();
  }

  bool post(std::shared_ptr<gateway_job>&& job) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!hdl_)
      return false;
    hdl_->enqueue(caf::make_mailbox_element(nullptr, caf::make_message_id(), {},
                                            gateway_msg{std::move(job)}),
                  nullptr);
    return true;
  }

  void stop() override {
    caf::actor hdl;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      hdl.swap(hdl_);
    }
    if (!hdl)
      return;
    caf::anon_send_exit(hdl, caf::exit_reason::kill);
    if (ctx_.opts.policy == scheduler_policy::testing)
      static_cast<caf::scheduler::test_coordinator&>(ctx_.system().scheduler())
          .run();
  }

 private:
  node_context& ctx_;
  std::mutex mtx_;
  caf::actor hdl_;
};

} // namespace

bool post_to_gateway(node& n, std::shared_ptr<gateway_job> job) noexcept {
  auto* ctx = n.context();
  if (ctx == nullptr || !ctx->running())
    return false;
  try {
    return ctx->service<gateway_service>().post(std::move(job));
  } catch (...) {
    return false; // out of memory; the job's destructor reports the failure
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

// -- request_deadlines --------------------------------------------------------

struct request_deadlines::impl {
  using time_point = caf::actor_clock::time_point;
  using by_time_map = std::multimap<time_point, uint64_t>;

  by_time_map by_time;
  std::unordered_map<uint64_t, by_time_map::iterator> by_id;
  timer tick;
  time_point tick_at = time_point::max();

  void arm(caf::event_based_actor* self, time_point due) {
    tick.cancel();
    tick_at = due;
    tick = call_at(self, due, [this, self] { fire(self); });
  }

  void fire(caf::event_based_actor* self) {
    tick_at = time_point::max();
    auto now = self->clock().now();
    while (!by_time.empty() && by_time.begin()->first <= now) {
      auto id = by_time.begin()->second;
      by_id.erase(id);
      by_time.erase(by_time.begin());
      // The response handler takes it as CAF's own request timeout.
      self->eq_impl(caf::message_id{id}, nullptr, self->context(),
                    caf::make_error(caf::sec::request_timeout));
    }
    if (!by_time.empty())
      arm(self, by_time.begin()->first);
  }
};

request_deadlines::request_deadlines() : impl_(std::make_unique<impl>()) {}

request_deadlines::~request_deadlines() = default;

void request_deadlines::track(caf::event_based_actor* self, caf::message_id rid,
                              caf::timespan timeout) {
  auto due = self->clock().now() + timeout;
  auto id = rid.integer_value();
  auto i = impl_->by_time.emplace(due, id);
  impl_->by_id.emplace(id, i);
  if (due < impl_->tick_at)
    impl_->arm(self, due);
}

void request_deadlines::forget(caf::message_id rid) noexcept {
  auto j = impl_->by_id.find(rid.integer_value());
  if (j == impl_->by_id.end())
    return;
  impl_->by_time.erase(j->second);
  impl_->by_id.erase(j);
}

std::size_t request_deadlines::size() const noexcept {
  return impl_->by_id.size();
}

} // namespace coactor::detail
