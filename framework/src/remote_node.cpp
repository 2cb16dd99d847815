// coactor::remote: the node hooks (configure a node for remoting, start its
// registry and remoting actors and listen) and the per-node service.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_map>

#if defined(__SANITIZE_ADDRESS__)
#  include <sanitizer/lsan_interface.h>
#endif

#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "coactor/detail/caf_internals.hpp"
#include "coactor/status.hpp"
#include "remote_internal.hpp"
#include "remoting.hpp"

namespace coactor::remote::detail {

// -- the per-node service -----------------------------------------------------

void remote_service::stop() {
  peers_status.reset();
  actors_status.reset();
  metrics.reset();
  std::unordered_map<std::string, caf::actor> published;
  {
    std::lock_guard<std::mutex> guard{shared->mtx};
    published.swap(shared->published);
  }
  published.clear();
  // End both actors and wait until they did, before the actor system
  // stops the middleman: both are hidden, so the system would not wait,
  // and one still ending while CAF finalizes its BASP broker (whose
  // proxies the actors' mailboxes and state reference) intermittently
  // left the broker and the actor in a reference cycle (leaks under ASan).
  struct countdown {
    std::mutex mtx;
    std::condition_variable cv;
    int left = 0;
  };
  auto ended = std::make_shared<countdown>();
  for (auto* hdl : {&registry_actor, &remoting}) {
    if (!*hdl)
      continue;
    {
      std::lock_guard<std::mutex> guard{ended->mtx};
      ++ended->left;
    }
    (*hdl)->attach_functor([ended] {
      std::lock_guard<std::mutex> guard{ended->mtx};
      if (--ended->left == 0)
        ended->cv.notify_all();
    });
    caf::anon_send_exit(*hdl, caf::exit_reason::user_shutdown);
    *hdl = nullptr;
  }
  // Bounded, so that a node whose workers are all blocked still stops;
  // under the testing scheduler nothing runs here (nodes stop in virtual
  // time), so do not wait at all.
  if (!testing_) {
    std::unique_lock<std::mutex> guard{ended->mtx};
    ended->cv.wait_for(guard, std::chrono::seconds{5},
                       [&] { return ended->left == 0; });
  }
}

remote_service* service_of(caf::actor_system& sys) {
  auto* ctx = coactor::detail::node_context_of(sys);
  if (ctx == nullptr || !ctx->opts.networked())
    return nullptr;
  auto& svc = ctx->service<remote_service>();
  return svc.started ? &svc : nullptr;
}

} // namespace coactor::remote::detail

// -- node hooks ---------------------------------------------------------------

namespace coactor::detail {

void configure_node(caf::actor_system_config& cfg, const node_options& opts) {
  cfg.add_message_type<remote::peer>("coactor::remote::peer");
  opts.types.apply(cfg);
  if (!opts.networked())
    return;
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.heartbeat-interval",
          caf::timespan{opts.heartbeat_interval});
  cfg.set("middleman.connection-timeout",
          caf::timespan{opts.connection_timeout});
  if (opts.tls_enabled()) {
    cfg.load<caf::openssl::manager>();
    cfg.openssl_certificate = opts.tls_certificate;
    cfg.openssl_key = opts.tls_key;
    cfg.openssl_cafile = opts.tls_ca;
  }
}

namespace {

// CAF 0.17.6's BASP broker sometimes stays in a reference cycle when the
// actor system shuts down, under either scheduler (under ASan: 0.6% of test
// processes with two networked nodes under `sharing`, 2.5% under
// `balanced`; docs/benchmarks.md). LeakSanitizer then reports the broker and
// what only it references (its maps, proxies, per-peer helpers). In ASan
// builds, exclude that graph from leak checks, and nothing else: coactor's
// own actors end, and are awaited, before the middleman stops
// (`remote_service::stop`). Creating the broker here, before any request
// reaches the middleman actor (which otherwise creates it on the first
// publish or connect), races with no one.
void exempt_basp_broker_from_leak_checks(
    [[maybe_unused]] caf::actor_system& sys) {
#if defined(__SANITIZE_ADDRESS__)
  auto broker = detail::basp_broker_of(sys);
  __lsan_ignore_object(caf::actor_cast<caf::abstract_actor*>(broker));
#endif
}

} // namespace

caf::error start_remoting(node_context& ctx) {
  using namespace coactor::remote;
  using namespace coactor::remote::detail;
  auto& sys = ctx.system();
  exempt_basp_broker_from_leak_checks(sys);
  auto& svc = ctx.service<remote_service>();
  {
    auto& names = sys.config().value_factories_by_name;
    auto& types = svc.shared->local_types;
    for (auto& kvp : names)
      types.push_back(kvp.first);
    std::sort(types.begin(), types.end());
  }
  auto mm = ctx.opts.tls_enabled() ? sys.openssl_manager().actor_handle()
                                   : sys.middleman().actor_handle();
  svc.registry_actor = sys.spawn<caf::hidden>(registry, svc.shared);
  svc.remoting
      = sys.spawn<caf::hidden>(remoting, svc.shared, mm, ctx.logger("remote"));
  svc.started = true;
  svc.peers_status = status::add(
      sys, "peers", [shared = svc.shared] { return peers_status(*shared); });
  svc.actors_status = status::add(sys, "actors", [shared = svc.shared] {
    return published_status(*shared);
  });
  svc.metrics = publish_metrics(ctx, svc.shared);
  caf::error result;
  if (ctx.opts.port) {
    auto where = endpoint(ctx.opts.host, *ctx.opts.port);
    {
      caf::scoped_actor self{sys, true};
      self->request(mm, std::chrono::seconds{10}, caf::publish_atom::value,
                    *ctx.opts.port,
                    caf::actor_cast<caf::strong_actor_ptr>(svc.registry_actor),
                    // SO_REUSEADDR: a restarted node gets its port back
                    // while old connections linger in TIME_WAIT.
                    std::set<std::string>{}, ctx.opts.host, true)
          .receive(
              [&](uint16_t actual) {
                svc.port = actual;
                svc.listening = true;
              },
              [&](caf::error& err) {
                result = make_error(errc::connection_failed,
                                    "node '" + ctx.opts.name
                                        + "' cannot listen on " + where + ": "
                                        + describe(err));
              });
    }
    release_thread();
    if (!result)
      ctx.logger("remote")->info("listening on {}{}",
                                 endpoint(ctx.opts.host, svc.port),
                                 ctx.opts.tls_enabled() ? " (TLS)" : "");
  }
  return result;
}

} // namespace coactor::detail
