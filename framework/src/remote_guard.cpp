// coactor::remote: request guards, which answer a pending request with an
// error at once when its target exits or its node is lost.
#include <atomic>
#include <memory>
#include <utility>

#include <caf/attachable.hpp>
#include <caf/exit_reason.hpp>

#include "remote_internal.hpp"

namespace coactor::remote::detail {

namespace {

// Fires when a target of a guarded request exits (for a proxy: when its node
// becomes unreachable), answering the request with an error right away.
class request_guard : public caf::attachable {
 public:
  static constexpr size_t token_type = 0x636f6163; // "coac"

  request_guard(std::shared_ptr<shared_state> shared,
                caf::weak_actor_ptr requester, caf::message_id mid,
                caf::node_id target_node, bool remote)
      : shared_(std::move(shared)), requester_(std::move(requester)), mid_(mid),
        target_node_(std::move(target_node)), remote_(remote) {
    alive.fetch_add(1, std::memory_order_relaxed);
  }

  request_guard(const request_guard&) = delete;
  request_guard& operator=(const request_guard&) = delete;

  ~request_guard() override { alive.fetch_sub(1, std::memory_order_relaxed); }

  static inline std::atomic<size_t> alive{0};

  void actor_exited(const caf::error& reason,
                    caf::execution_unit* host) override {
    auto ptr = requester_.lock();
    if (!ptr)
      return;
    caf::error err;
    auto where = where_of(shared_.get(), target_node_);
    if (remote_ && reason == caf::exit_reason::remote_link_unreachable)
      err = make_error(errc::connection_failed,
                       "node " + where
                           + " became unreachable (connection lost or no "
                             "heartbeat) before replying");
    else
      err = make_error(errc::target_down,
                       (remote_ ? "actor on node " + where : "local actor")
                           + " exited (" + describe(reason)
                           + ") before replying");
    ptr->enqueue(nullptr, mid_, caf::make_message(std::move(err)), host);
  }

  bool matches(const token& what) override {
    return what.subtype == token_type && what.ptr == this;
  }

 private:
  std::shared_ptr<shared_state> shared_;
  caf::weak_actor_ptr requester_;
  caf::message_id mid_;
  caf::node_id target_node_;
  bool remote_;
};

// Attached to the requester of a guarded request: when the requester exits
// before the reply, removes the guard from the target (which may be a
// long-lived proxy) instead of leaving it there until the target dies.
class requester_link : public caf::attachable {
 public:
  static constexpr size_t token_type = 0x636f616c; // "coal"

  requester_link(caf::weak_actor_ptr target, const void* guard)
      : target_(std::move(target)), guard_(guard) {}

  void actor_exited(const caf::error&, caf::execution_unit*) override {
    if (auto target = target_.lock())
      target->get()->detach(token{request_guard::token_type, guard_});
  }

  bool matches(const token& what) override {
    return what.subtype == token_type && what.ptr == guard_;
  }

 private:
  caf::weak_actor_ptr target_;
  const void* guard_;
};

} // namespace

const void* guard(caf::actor_system& sys,
                  const caf::strong_actor_ptr& requester,
                  const caf::actor& target, caf::message_id mid) {
  auto* svc = service_of(sys);
  auto remote = target.node() != sys.node();
  auto ptr = std::make_unique<request_guard>(
      svc != nullptr ? svc->shared : nullptr,
      caf::actor_cast<caf::weak_actor_ptr>(requester), mid, target.node(),
      remote);
  const void* token = ptr.get();
  caf::actor_cast<caf::abstract_actor*>(target)->attach(std::move(ptr));
  requester->get()->attach(std::make_unique<requester_link>(
      caf::actor_cast<caf::weak_actor_ptr>(target), token));
  return token;
}

void unguard(const caf::strong_actor_ptr& requester, const caf::actor& target,
             const void* token) {
  caf::actor_cast<caf::abstract_actor*>(target)->detach(
      caf::attachable::token{request_guard::token_type, token});
  requester->get()->detach(
      caf::attachable::token{requester_link::token_type, token});
}

size_t guards_alive() noexcept {
  return request_guard::alive.load(std::memory_order_relaxed);
}

} // namespace coactor::remote::detail
