// coactor's credit-based stream protocol: the messages pipeline actors
// exchange (see docs/protocol.md for the state machine).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace coactor::actors {

// -- atoms
// ---------------------------------------------------------------------

/// upstream → downstream, first message on a path: `(open_atom, name)` with
/// the upstream's stage name. The downstream monitors the sender and answers
/// with its first `demand`.
using open_atom = caf::atom_constant<caf::atom("cx_open")>;

/// upstream → downstream, at-least-once paths: `(open_atom, name,
/// uint64_t first_seq)` opens a path whose batches the downstream
/// acknowledges, starting at `first_seq` (a reconnecting sender redelivers
/// from its oldest unacknowledged batch). Sent again on an open path before
/// any batch, it asks the downstream to acknowledge from then on.
///
/// downstream → upstream: `(ack_atom, uint64_t seq)` on at-least-once paths:
/// every batch up to `seq` on this path was processed (a sink consumed it, a
/// stage's outputs of it were acknowledged downstream). Cumulative.
using ack_atom = caf::atom_constant<caf::atom("cx_ack")>;

/// downstream → upstream: `(demand_atom, int64_t n)` permits the upstream to
/// send `n` more items (credit is cumulative). On at-least-once paths
/// `(demand_atom, int64_t n, uint64_t seq)` is that demand and `(ack_atom,
/// seq)` in one message, sent when both are due.
using demand_atom = caf::atom_constant<caf::atom("cx_demand")>;

/// upstream → downstream: `(end_atom)`, end_of_stream. No batch follows.
using end_atom = caf::atom_constant<caf::atom("cx_eos")>;

/// Either direction: `(stream_error_atom, caf::error)`; the stream is dead,
/// the receiver stops and propagates the error.
using stream_error_atom = caf::atom_constant<caf::atom("cx_serr")>;

/// stage → pipeline controller: `(stage_done_atom, uint32_t index)`; the
/// stage forwarded its end_of_stream and quits.
using stage_done_atom = caf::atom_constant<caf::atom("cx_done")>;

/// stage → pipeline controller: `(stage_failed_atom, uint32_t index,
/// caf::error)`; the stage failed and quits with that error.
using stage_failed_atom = caf::atom_constant<caf::atom("cx_sfail")>;

/// An actor's message to itself: generate or flush more (keeps handlers
/// short so one busy actor never hogs a worker thread).
using resume_atom = caf::atom_constant<caf::atom("cx_resume")>;

// -- messages
// ------------------------------------------------------------------

/// upstream → downstream: `items` within the credit granted by `demand`.
/// `seq` counts batches per path from 0 (a gap or repeat is a protocol
/// violation, except that an at-least-once path may start at any `seq`).
/// `emitted` is the steady-clock time (ns) at which the oldest item of the
/// batch left its producer: the base of the emit→consume latency.
template <class T>
struct batch_message {
  uint64_t seq = 0;
  int64_t emitted = 0;
  std::vector<T> items;
};

/// Makes `batch_message<T>` serializable with CAF's inspectors when `T` is.
template <class Inspector, class T>
typename Inspector::result_type inspect(Inspector& f, batch_message<T>& x) {
  return f(caf::meta::type_name("coactor.batch"), x.seq, x.emitted, x.items);
}

/// Registers everything a stream of `T` puts into messages with a node's
/// actor system config, under `name` (e.g. "int" or "my_app.order"): the one
/// place a stream type must be registered before its batches can cross nodes.
/// Call it with the same name on every node. Not needed locally.
template <class T>
void register_item_type(caf::actor_system_config& cfg,
                        const std::string& name) {
  cfg.add_message_type<batch_message<T>>("coactor.batch<" + name + ">");
}

} // namespace coactor::actors
