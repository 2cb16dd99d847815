// Internal: the sink actor (no downstream): consumes batches within the
// window it grants its upstreams.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <caf/stateful_actor.hpp>

#include "coactor/actors/detail/inbound.hpp"
#include "coactor/actors/detail/stage_common.hpp"
#include "coactor/actors/protocol.hpp"

namespace coactor::actors::detail {

template <class T>
struct sink_args {
  stage_context ctx;
  size_t upstreams = 1;
  size_t window = 2048;
  std::function<sink_fn<T>()> make;
  restart_policy restarts;
};

template <class T>
struct sink_state {
  static inline const char* name = "coactor.consumer";
  stage_context ctx;
  inbound in{1, 1};
  sink_fn<T> fn;
  std::function<sink_fn<T>()> make; // a fresh fn, for restarts
  restarter restarts;
  bool finished = false;
};

template <class T>
caf::behavior sink_actor(caf::stateful_actor<sink_state<T>>* self,
                         sink_args<T> args) {
  auto& st = self->state;
  st.ctx = std::move(args.ctx);
  st.in = inbound{args.upstreams, std::max<size_t>(1, args.window)};
  st.make = std::move(args.make);
  st.restarts = restarter{args.restarts};
  if (!make_guarded(self, st.fn, st.make))
    return {};
  fail_on_peer_down(self);
  return {
      [self](open_atom, std::string& name) { open_upstream(self, name, 0); },
      [self](open_atom, std::string& name, uint64_t first_seq) {
        open_upstream_acked(self, name, first_seq, 0);
      },
      [self](ack_flush_atom) { self->state.in.flush_acks(self); },
      [self](batch_message<T>& b) {
        auto& st = self->state;
        auto& probe = *st.ctx.probe;
        if (st.finished)
          return;
        auto* p = batch_upstream(self);
        if (p == nullptr)
          return;
        auto over = st.in.arrived(*p, b.seq, b.items.size());
        if (!over || *over > 0) {
          fail_stage(self, stage_error(probe, errc::protocol_violation,
                                       over ? "upstream '" + p->name
                                                  + "' sent beyond its credit"
                                            : describe(over.error())));
          return;
        }
        auto n = b.items.size();
        probe.add_in(n);
        // A failed fn leaves in b.items what it did not consume: a restarted
        // one continues there.
        auto attempt = [&] {
          return guarded(probe, [&] { return st.fn(b.items); });
        };
        auto restart = [&] {
          return guarded(probe, [&] {
            st.fn = st.make();
            return caf::error{};
          });
        };
        if (auto err
            = with_restarts(self, probe, st.restarts, attempt, restart)) {
          fail_stage(self, err);
          return;
        }
        probe.add_out(n);
        if (n > 0)
          probe.latency.record(now_ns() - b.emitted, n);
        if (p->acks) // consumed: the upstream may forget the batch
          st.in.acknowledge(*p, b.seq);
        st.in.grant(self, 0); // and the acknowledgement, now or soon
      },
      [self](end_atom) {
        if (end_upstream(self) && self->state.in.all_ended())
          finish_stage(self);
      },
      [self](stream_error_atom, caf::error& err) { fail_stage(self, err); },
  };
}

} // namespace coactor::actors::detail
