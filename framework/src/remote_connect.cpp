// coactor::remote: the remoting actor, which connects to other nodes with
// retries and exponential backoff.
#include <algorithm>
#include <chrono>
#include <set>
#include <utility>

#include <caf/io/middleman_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "remote_internal.hpp"

namespace coactor::remote::detail {

namespace {

using retry_atom = caf::atom_constant<caf::atom("coretry")>;

void try_connect(remoting_actor_ptr self, uint64_t id);

void fail_attempt(remoting_actor_ptr self, uint64_t id, const caf::error& err) {
  auto i = self->state.jobs.find(id);
  if (i == self->state.jobs.end())
    return;
  auto& job = i->second;
  self->state.shared->attempts_failed.fetch_add(1, std::memory_order_relaxed);
  auto where = endpoint(job.host, job.port);
  if (job.attempt < job.attempts) {
    auto backoff = job.initial_backoff;
    for (uint32_t k = 1; k < job.attempt && backoff < job.max_backoff; ++k)
      backoff *= 2;
    backoff = std::min(backoff, job.max_backoff);
    self->state.log->debug(
        "connect to {}: attempt {} of {} failed ({}); "
        "retrying in {} ms",
        where, job.attempt, job.attempts, describe(err),
        std::chrono::duration_cast<std::chrono::milliseconds>(backoff).count());
    self->delayed_send(self, backoff, retry_atom::value, id);
    return;
  }
  auto code = errc::connection_failed;
  std::string cause = describe(err);
  if (self->state.shared->tls
      && (err == caf::sec::disconnect_during_handshake
          || err == caf::sec::cannot_connect_to_node)) {
    code = errc::tls_failure;
    cause += "; TLS is on: the peer may reject this node's certificate or "
             "not speak TLS";
  }
  job.rp.deliver(make_error(code, "cannot connect to " + where + " after "
                                      + std::to_string(job.attempt)
                                      + " attempt(s): " + cause));
  self->state.jobs.erase(i);
}

void try_connect(remoting_actor_ptr self, uint64_t id) {
  auto i = self->state.jobs.find(id);
  if (i == self->state.jobs.end())
    return;
  auto& job = i->second;
  ++job.attempt;
  auto timeout = job.attempt_timeout;
  self->request(self->state.mm, timeout, caf::connect_atom::value, job.host,
                job.port)
      .then(
          [=](caf::node_id& nid, caf::strong_actor_ptr& reg,
              std::set<std::string>&) {
            if (!reg) {
              fail_attempt(self, id,
                           make_error(errc::connection_failed,
                                      "a CAF node listens there, but no "
                                      "coactor registry is published"));
              return;
            }
            auto reg_actor = caf::actor_cast<caf::actor>(reg);
            auto& shared = *self->state.shared;
            self->request(reg_actor, timeout, hello_atom::value,
                          shared.node_name, shared.local_types)
                .then(
                    [=](std::string& name, std::vector<std::string>& types) {
                      auto j = self->state.jobs.find(id);
                      if (j == self->state.jobs.end())
                        return;
                      auto& job = j->second;
                      self->state.shared->attempts_ok.fetch_add(
                          1, std::memory_order_relaxed);
                      peer p;
                      p.host = job.host;
                      p.port = job.port;
                      p.name = std::move(name);
                      p.id = nid;
                      p.registry = reg_actor;
                      p.types = std::move(types);
                      std::sort(p.types.begin(), p.types.end());
                      remember_peer(
                          *self->state.shared, nid, p.describe(), p.types,
                          caf::actor_cast<caf::strong_actor_ptr>(reg_actor));
                      self->monitor(reg_actor);
                      self->state.log->info("connected to node {}",
                                            p.describe());
                      job.rp.deliver(std::move(p));
                      self->state.jobs.erase(j);
                    },
                    [=](caf::error& err) { fail_attempt(self, id, err); });
          },
          [=](caf::error& err) { fail_attempt(self, id, err); });
}

} // namespace

caf::behavior remoting(remoting_actor_ptr self,
                       std::shared_ptr<shared_state> shared,
                       caf::io::middleman_actor mm,
                       std::shared_ptr<spdlog::logger> log) {
  self->state.shared = std::move(shared);
  self->state.mm = std::move(mm);
  self->state.log = std::move(log);
  self->set_down_handler([=](caf::down_msg& dm) {
    self->state.log->warn("lost node {}: {}",
                          where_of(self->state.shared.get(), dm.source.node()),
                          describe(dm.reason));
  });
  return {
      [=](connect_atom, std::string& host, uint16_t port, uint32_t attempts,
          caf::timespan initial_backoff, caf::timespan max_backoff,
          caf::timespan attempt_timeout) -> caf::result<peer> {
        auto rp = self->make_response_promise();
        if (attempts == 0)
          return make_error(errc::invalid_argument,
                            "connect to " + endpoint(host, port)
                                + ": attempts must be at least 1");
        auto id = self->state.next_job++;
        connect_job job;
        job.host = std::move(host);
        job.port = port;
        job.attempts = attempts;
        job.initial_backoff = initial_backoff;
        job.max_backoff = max_backoff;
        job.attempt_timeout = attempt_timeout;
        job.rp = std::move(rp);
        self->state.jobs.emplace(id, std::move(job));
        try_connect(self, id);
        return caf::delegated<peer>{};
      },
      [=](retry_atom, uint64_t id) { try_connect(self, id); },
  };
}

} // namespace coactor::remote::detail
