// coactor::remote: what a node knows about peers and published actors, and
// the registry actor listening on the node's port.
#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <utility>

#include <caf/attachable.hpp>
#include <caf/stateful_actor.hpp>

#include "remote_internal.hpp"

namespace coactor::remote::detail {

std::string where_of(shared_state* st, const caf::node_id& nid) {
  if (st != nullptr)
    if (auto lbl = st->label(nid))
      return lbl->where;
  // Appends, not `"'" + x + "'"`: g++ 12 -O3 warns (-Wrestrict) on the
  // latter, a known false positive.
  std::string result{"'"};
  result += caf::to_string(nid);
  result += '\'';
  return result;
}

namespace {

// Attached to an actor only to learn whether it terminated already: CAF runs
// an attachable at once when its actor is past its cleanup.
class exit_probe : public caf::attachable {
 public:
  static constexpr size_t token_type = 0x636f6178; // "coax"

  explicit exit_probe(std::shared_ptr<std::atomic<bool>> exited)
      : exited_(std::move(exited)) {}

  void actor_exited(const caf::error&, caf::execution_unit*) override {
    exited_->store(true);
  }

  bool matches(const token& what) override {
    return what.subtype == token_type && what.ptr == this;
  }

 private:
  std::shared_ptr<std::atomic<bool>> exited_;
};

} // namespace

// Returns whether `hdl` terminated. A published actor's registry entry goes
// away in one of its exit hooks, but CAF runs those newest first, so after
// its monitors fired: publish and lookup ask this instead of trusting the
// entry.
bool has_exited(const caf::actor& hdl) {
  auto exited = std::make_shared<std::atomic<bool>>(false);
  auto probe = std::make_unique<exit_probe>(exited);
  const void* token = probe.get();
  auto* ptr = caf::actor_cast<caf::abstract_actor*>(hdl);
  ptr->attach(std::move(probe));
  if (!exited->load())
    ptr->detach(caf::attachable::token{exit_probe::token_type, token});
  return exited->load();
}

// Records what this node learned about a peer: by connecting to it (`where`
// names host and port) or from the peer's own hello (its name only).
void remember_peer(shared_state& st, const caf::node_id& nid, std::string where,
                   std::vector<std::string> types,
                   const caf::strong_actor_ptr& watch) {
  auto lbl = std::make_shared<peer_label>();
  lbl->where = std::move(where);
  lbl->types = std::move(types);
  std::sort(lbl->types.begin(), lbl->types.end());
  if (watch) // a proxy goes when its node is lost
    watch->get()->attach_functor([weak = std::weak_ptr<const peer_label>{lbl}] {
      if (auto l = weak.lock())
        l->up.store(false);
    });
  std::lock_guard<std::mutex> guard{st.mtx};
  st.peers[nid] = std::move(lbl);
}

nlohmann::json peers_status(shared_state& st) {
  auto peers = nlohmann::json::array();
  std::lock_guard<std::mutex> guard{st.mtx};
  for (auto& [nid, lbl] : st.peers)
    peers.push_back({{"node", lbl->where},
                     {"state", lbl->up.load() ? "up" : "down"},
                     {"types", lbl->types.size()}});
  return peers;
}

nlohmann::json published_status(shared_state& st) {
  auto actors = nlohmann::json::array();
  std::lock_guard<std::mutex> guard{st.mtx};
  for (auto& [name, hdl] : st.published)
    if (hdl)
      actors.push_back(
          {{"name", name}, {"id", hdl.id()}, {"how", "published"}});
  return actors;
}

metrics::collector_handle publish_metrics(coactor::detail::node_context& ctx,
                                          std::shared_ptr<shared_state> st) {
  auto* reg = ctx.opts.metrics ? metrics::of(ctx.system()) : nullptr;
  if (reg == nullptr)
    return {};
  auto peers = reg->add_gauge("coactor_remote_peers",
                              "Nodes this node connected to or was "
                              "contacted by, by state (up, down: lost).",
                              {"state"});
  auto attempts = reg->add_counter("coactor_remote_connect_attempts_total",
                                   "Connection attempts of remote::connect "
                                   "(retries included), by outcome.",
                                   {"outcome"});
  if (!peers || !attempts)
    return {};
  // The names are valid: these cannot fail.
  auto* up = *(*peers)->get({"up"});
  auto* down = *(*peers)->get({"down"});
  auto* ok = *(*attempts)->get({"ok"});
  auto* failed = *(*attempts)->get({"failed"});
  return reg->add_collector([st = std::move(st), up, down, ok, failed,
                             ok_seen = uint64_t{0},
                             failed_seen = uint64_t{0}]() mutable {
    std::size_t n_up = 0;
    std::size_t n_all = 0;
    {
      std::lock_guard<std::mutex> guard{st->mtx};
      n_all = st->peers.size();
      for (auto& [nid, lbl] : st->peers)
        n_up += lbl->up.load() ? 1 : 0;
    }
    up->set(static_cast<double>(n_up));
    down->set(static_cast<double>(n_all - n_up));
    // Only this collector writes these series (the registry runs one
    // collection at a time).
    auto k = st->attempts_ok.load(std::memory_order_relaxed);
    ok->add_owned(k - std::exchange(ok_seen, k));
    k = st->attempts_failed.load(std::memory_order_relaxed);
    failed->add_owned(k - std::exchange(failed_seen, k));
  });
}

// -- registry actor: the actor listening on the node's port -------------------

caf::behavior registry(caf::stateful_actor<registry_state>* self,
                       std::shared_ptr<shared_state> shared) {
  self->state.shared = std::move(shared);
  return {
      // A connecting node introduces itself, so that errors on this side
      // name it too (not only CAF's node id), and learns who we are.
      [=](hello_atom, std::string& name, std::vector<std::string>& types) {
        auto& st = *self->state.shared;
        auto nid = self->current_sender()->node();
        if (nid != self->node() && !st.label(nid))
          remember_peer(st, nid, "'" + name + "'", std::move(types),
                        self->current_sender());
        return caf::make_message(st.node_name, st.local_types);
      },
      [=](lookup_atom, const std::string& name) -> caf::result<caf::actor> {
        auto& st = *self->state.shared;
        std::lock_guard<std::mutex> guard{st.mtx};
        auto i = st.published.find(name);
        if (i == st.published.end() || has_exited(i->second))
          return make_error(errc::name_not_found, "no actor published as '"
                                                      + name + "' on node '"
                                                      + st.node_name + "'");
        return i->second;
      },
  };
}

} // namespace coactor::remote::detail
