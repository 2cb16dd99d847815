// coactor::remote: publish, unpublish, connect and lookup (the blocking
// forms), and the checks and error translation behind remote requests.
#include "coactor/remote.hpp"

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <utility>

#include <caf/scoped_actor.hpp>

#include "remote_internal.hpp"

namespace coactor::remote {

namespace {

std::string demangle(const std::type_info& ti) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> res{
      abi::__cxa_demangle(ti.name(), nullptr, nullptr, &status), std::free};
  return status == 0 && res ? std::string{res.get()} : std::string{ti.name()};
}

} // namespace

namespace detail {

std::string endpoint(const std::string& host, uint16_t port) {
  return host + ":" + std::to_string(port);
}

} // namespace detail

using detail::endpoint;
using detail::has_exited;
using detail::service_of;
using detail::shared_state;
using detail::where_of;

// -- peer and options ---------------------------------------------------------

std::string peer::describe() const {
  std::string result{"'"};
  result += name;
  result += "' at ";
  result += endpoint(host, port);
  return result;
}

std::chrono::milliseconds connect_options::total_bound() const {
  std::chrono::milliseconds total{0};
  auto backoff = initial_backoff;
  for (uint32_t k = 0; k < std::max<uint32_t>(attempts, 1); ++k) {
    total += attempt_timeout;
    if (k + 1 < attempts) {
      total += std::min(backoff, max_backoff);
      if (backoff < max_backoff)
        backoff *= 2; // never past max_backoff: no overflow
    }
  }
  return total;
}

// -- local node ---------------------------------------------------------------

caf::expected<uint16_t> port(node& n) {
  if (!n.running())
    return make_error(errc::node_stopped, "port: the node is not running");
  auto* svc = service_of(n.system());
  if (svc == nullptr || !svc->listening)
    return make_error(errc::invalid_argument,
                      "port: node '" + n.name()
                          + "' does not listen (set node_options::port)");
  return svc->port;
}

caf::error publish(node& n, std::string name, caf::actor whom) {
  if (!n.running())
    return make_error(errc::node_stopped,
                      "publish '" + name + "': the node is not running");
  return publish(n.system(), std::move(name), std::move(whom));
}

caf::error publish(caf::actor_system& sys, std::string name, caf::actor whom) {
  if (name.empty())
    return make_error(errc::invalid_argument, "publish: empty name");
  if (!whom)
    return make_error(errc::invalid_argument,
                      "publish '" + name + "': null actor");
  auto* ctx = coactor::detail::node_context_of(sys);
  auto* svc = service_of(sys);
  if (ctx == nullptr || svc == nullptr)
    return make_error(errc::invalid_config,
                      "publish '" + name
                          + "': the node is not networked (set "
                            "node_options::port or networking)");
  {
    caf::actor exited; // released outside the lock
    auto& st = *svc->shared;
    std::lock_guard<std::mutex> guard{st.mtx};
    auto i = st.published.find(name);
    if (i != st.published.end() && !has_exited(i->second))
      return make_error(errc::invalid_argument, "publish '" + name
                                                    + "': name taken on node '"
                                                    + st.node_name + "'");
    auto& entry = st.published[name];
    exited = std::exchange(entry, whom);
  }
  // An exiting actor leaves the registry (lookups never return a dead
  // handle, and the name is free again for whoever saw it end; until this
  // hook ran, `has_exited` says so). Like CAF's own actor registry, this
  // releases a strong reference while the actor cleans up; its executor
  // still holds one.
  whom->attach_functor([weak = std::weak_ptr<shared_state>{svc->shared}, name,
                        who = whom.address()] {
    auto st = weak.lock();
    if (!st)
      return;
    caf::actor dropped; // released outside the lock
    std::lock_guard<std::mutex> guard{st->mtx};
    auto i = st->published.find(name);
    if (i != st->published.end() && i->second.address() == who) {
      dropped = std::move(i->second);
      st->published.erase(i);
    }
  });
  ctx->own(caf::actor_cast<caf::strong_actor_ptr>(whom));
  return caf::none;
}

bool unpublish(caf::actor_system& sys, const std::string& name) {
  auto* svc = service_of(sys);
  if (svc == nullptr)
    return false;
  caf::actor dropped; // released outside the lock
  std::lock_guard<std::mutex> guard{svc->shared->mtx};
  auto i = svc->shared->published.find(name);
  if (i == svc->shared->published.end())
    return false;
  dropped = std::move(i->second);
  svc->shared->published.erase(i);
  return true;
}

std::string describe_node(caf::actor_system& sys, const caf::node_id& nid) {
  if (nid == sys.node())
    return "this node";
  auto* svc = service_of(sys);
  return "node " + where_of(svc != nullptr ? svc->shared.get() : nullptr, nid);
}

caf::actor remoting_actor(caf::actor_system& sys) {
  auto* svc = service_of(sys);
  return svc != nullptr ? svc->remoting : caf::actor{};
}

// -- blocking forms -----------------------------------------------------------

caf::expected<peer> connect(node& n, const std::string& host, uint16_t port,
                            connect_options opts) {
  if (!n.running())
    return make_error(errc::node_stopped, "connect to " + endpoint(host, port)
                                              + ": the node is not running");
  auto mgr = remoting_actor(n.system());
  if (!mgr)
    return make_error(errc::invalid_config,
                      "connect to " + endpoint(host, port)
                          + ": the node is not networked (set "
                            "node_options::networking or port)");
  caf::expected<peer> result{caf::sec::none};
  {
    caf::scoped_actor self{n.system(), true};
    self->request(mgr, opts.total_bound() + std::chrono::seconds{1},
                  connect_atom::value, host, port, opts.attempts,
                  caf::timespan{opts.initial_backoff},
                  caf::timespan{opts.max_backoff},
                  caf::timespan{opts.attempt_timeout})
        .receive([&](peer& p) { result = std::move(p); },
                 [&](caf::error& err) { result = std::move(err); });
  }
  coactor::detail::release_thread();
  return result;
}

caf::expected<caf::actor> lookup(node& n, const peer& p,
                                 const std::string& name,
                                 std::chrono::milliseconds timeout) {
  if (!n.running())
    return make_error(errc::node_stopped,
                      "lookup '" + name + "': the node is not running");
  if (!p.registry)
    return make_error(errc::invalid_argument,
                      "lookup '" + name + "': not a connected peer");
  caf::expected<caf::actor> result{caf::sec::none};
  {
    caf::scoped_actor self{n.system(), true};
    auto hdl = self->request(p.registry, timeout, lookup_atom::value, name);
    auto token = detail::guard(n.system(),
                               caf::actor_cast<caf::strong_actor_ptr>(self),
                               p.registry, hdl.id());
    std::move(hdl).receive(
        [&](caf::actor& x) { result = std::move(x); },
        [&](caf::error& err) {
          result = detail::lookup_error(
              p, name, detail::translate(n.system(), p.registry, err));
        });
    detail::unguard(caf::actor_cast<caf::strong_actor_ptr>(self), p.registry,
                    token);
  }
  coactor::detail::release_thread();
  return result;
}

// -- internals ----------------------------------------------------------------

namespace detail {

caf::error check_types(caf::actor_system& sys, const caf::actor& target,
                       const caf::rtti_pair* args, size_t n,
                       caf::rtti_pair reply) {
  if (target.node() == sys.node())
    return caf::none; // local messages are never serialized
  auto* svc = service_of(sys);
  auto lbl = svc != nullptr ? svc->shared->label(target.node()) : nullptr;
  auto& names = sys.config().type_names_by_rtti;
  auto check = [&](const caf::rtti_pair& x, const char* role) -> caf::error {
    if (x.first != 0 || x.second == nullptr)
      return caf::none; // one of CAF's builtin types
    auto i = names.find(std::type_index{*x.second});
    if (i == names.end())
      return make_error(errc::type_not_registered,
                        std::string{role} + " type '" + demangle(*x.second)
                            + "' is not registered on this node (add it to "
                              "node_options::types)");
    if (lbl
        && !std::binary_search(lbl->types.begin(), lbl->types.end(), i->second))
      return make_error(errc::type_not_registered,
                        std::string{role} + " type '" + i->second
                            + "' is not registered on node " + lbl->where);
    return caf::none;
  };
  for (size_t k = 0; k < n; ++k)
    if (auto err = check(args[k], "message"))
      return err;
  return check(reply, "reply");
}

caf::error translate(caf::actor_system& sys, const caf::actor& target,
                     caf::error err) {
  if (err == caf::sec::request_timeout)
    return make_error(errc::timeout, "no reply in time from an actor on "
                                         + describe_node(sys, target.node()));
  if (err == caf::sec::request_receiver_down)
    return make_error(errc::target_down, "the addressed actor on "
                                             + describe_node(sys, target.node())
                                             + " is dead");
  return err;
}

caf::error lookup_error(const peer& p, const std::string& name,
                        caf::error err) {
  if (is(err, errc::name_not_found))
    return make_error(errc::name_not_found, "no actor published as '" + name
                                                + "' on node " + p.describe());
  if (err.category() == error_category)
    return make_error(static_cast<errc>(err.code()), "lookup '" + name + "' on "
                                                         + p.describe() + ": "
                                                         + context_of(err));
  return make_error(errc::connection_failed, "lookup '" + name + "' on "
                                                 + p.describe() + ": "
                                                 + describe(err));
}

} // namespace detail

} // namespace coactor::remote
