// Private: what the parts of coactor::remote share: the state behind a node's
// remoting, its registry and remoting actors, and the per-node service.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <nlohmann/json.hpp>

#include "coactor/metrics.hpp"
#include "coactor/remote.hpp"
#include "node_context.hpp"

namespace coactor::remote::detail {

// Returns "host:port" (remote.cpp).
std::string endpoint(const std::string& host, uint16_t port);

// What this node knows about a peer node, for error messages and type checks.
struct peer_label {
  std::string where; // "'name' at host:port"
  std::vector<std::string> types;
  // Cleared when the actor watched for it (a proxy) goes: the node is lost.
  mutable std::atomic<bool> up{true};
};

// State shared by the service, its actors and request guards (which may fire
// on CAF's network thread): outlives all of them.
struct shared_state {
  std::string node_name;
  std::vector<std::string> local_types; // sorted
  bool tls = false;

  std::mutex mtx;
  std::unordered_map<std::string, caf::actor> published;
  std::map<caf::node_id, std::shared_ptr<const peer_label>> peers;

  // Connection attempts of `remote::connect` by outcome (metrics).
  std::atomic<uint64_t> attempts_ok{0};
  std::atomic<uint64_t> attempts_failed{0};

  std::shared_ptr<const peer_label> label(const caf::node_id& nid) {
    std::lock_guard<std::mutex> guard{mtx};
    auto i = peers.find(nid);
    return i != peers.end() ? i->second : nullptr;
  }
};

// -- peers and published actors (remote_registry.cpp) -------------------------

std::string where_of(shared_state* st, const caf::node_id& nid);

bool has_exited(const caf::actor& hdl);

// Records a peer as up until `watch` (an actor of it) goes.
void remember_peer(shared_state& st, const caf::node_id& nid, std::string where,
                   std::vector<std::string> types,
                   const caf::strong_actor_ptr& watch);

// The status document's peers and published actors (remote_registry.cpp).
nlohmann::json peers_status(shared_state& st);
nlohmann::json published_status(shared_state& st);

// Publishes peers by state and connection attempts by outcome to the node's
// metrics (remote_registry.cpp); empty when the node's metrics are off.
metrics::collector_handle publish_metrics(coactor::detail::node_context& ctx,
                                          std::shared_ptr<shared_state> st);

// -- registry actor: listens on the node's port (remote_registry.cpp) ---------

struct registry_state {
  std::shared_ptr<shared_state> shared;
  static inline const char* name = "coactor.registry";
};

caf::behavior registry(caf::stateful_actor<registry_state>* self,
                       std::shared_ptr<shared_state> shared);

// -- remoting actor: connects with retries (remote_connect.cpp) ---------------

struct connect_job {
  std::string host;
  uint16_t port = 0;
  uint32_t attempts = 1;
  uint32_t attempt = 0;
  caf::timespan initial_backoff;
  caf::timespan max_backoff;
  caf::timespan attempt_timeout;
  caf::response_promise rp;
};

struct remoting_state {
  std::shared_ptr<shared_state> shared;
  caf::io::middleman_actor mm;
  std::unordered_map<uint64_t, connect_job> jobs;
  uint64_t next_job = 1;
  std::shared_ptr<spdlog::logger> log;
  static inline const char* name = "coactor.remoting";
};

using remoting_actor_ptr = caf::stateful_actor<remoting_state>*;

caf::behavior remoting(remoting_actor_ptr self,
                       std::shared_ptr<shared_state> shared,
                       caf::io::middleman_actor mm,
                       std::shared_ptr<spdlog::logger> log);

// -- the per-node service (remote_node.cpp) -----------------------------------

class remote_service : public coactor::detail::node_service {
 public:
  explicit remote_service(coactor::detail::node_context& ctx)
      : shared(std::make_shared<shared_state>()),
        testing_(ctx.opts.policy == scheduler_policy::testing) {
    shared->node_name = ctx.opts.name;
    shared->tls = ctx.opts.tls_enabled();
  }

  void stop() override;

  std::shared_ptr<shared_state> shared;
  caf::actor registry_actor;
  caf::actor remoting;
  bool started = false;
  bool listening = false;
  uint16_t port = 0;
  // Peers and published actors in the node's status document.
  metrics::collector_handle peers_status;
  metrics::collector_handle actors_status;
  metrics::collector_handle metrics;

 private:
  bool testing_;
};

remote_service* service_of(caf::actor_system& sys);

} // namespace coactor::remote::detail
