// coactor's credit-based stream protocol: the messages pipeline actors
// exchange (see docs/protocol.md for the state machine).
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/deserializer.hpp>
#include <caf/error.hpp>
#include <caf/sec.hpp>
#include <caf/serializer.hpp>

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

/// A receiving actor's message to itself: send the acknowledgements it held
/// back while more messages waited in its mailbox (so that a burst of batches
/// is acknowledged once, after the burst).
using ack_flush_atom = caf::atom_constant<caf::atom("cx_aflush")>;

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

namespace detail {

/// Items that cross nodes as one block of bytes instead of CAF 0.17.6's
/// element-by-element sequence (a virtual call and a `caf::error` per item,
/// which dominated remote pipelines): integers and IEEE 754 floating point,
/// not `bool` (`std::vector<bool>` has no contiguous storage) and not
/// `long double` (its size differs between platforms).
template <class T>
constexpr bool is_raw_item() {
  if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, long double>)
    return false;
  else if constexpr (std::is_floating_point_v<T>)
    return std::numeric_limits<T>::is_iec559;
  else
    return std::is_integral_v<T>;
}

template <class T>
inline constexpr bool raw_items = is_raw_item<T>();

/// Reverses the bytes of each of `n` items at `p` (big-endian hosts only).
template <class T>
void swap_bytes(T* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    auto* bytes = reinterpret_cast<std::byte*>(p + i);
    std::reverse(bytes, bytes + sizeof(T));
  }
}

/// Writes `xs` as CAF's sequence size followed by the items in little-endian
/// byte order. Fails with `sec::invalid_argument` for more than 2^32 - 1
/// items (CAF 0.17.6 writes sequence sizes as 32 bits and would cut them).
template <class T>
caf::error save_raw(caf::serializer& f, std::vector<T>& xs) {
  if (xs.size() > std::numeric_limits<uint32_t>::max())
    return caf::sec::invalid_argument;
  auto n = xs.size();
  if (auto err = f.begin_sequence(n))
    return err;
  if (n > 0) {
    if constexpr (std::endian::native == std::endian::little) {
      if (auto err = f.apply_raw(n * sizeof(T), xs.data()))
        return err;
    } else {
      auto copy = xs;
      swap_bytes(copy.data(), n);
      if (auto err = f.apply_raw(n * sizeof(T), copy.data()))
        return err;
    }
  }
  return f.end_sequence();
}

/// Reads what `save_raw` wrote into `xs`. Reads in chunks, so a size prefix
/// larger than the data fails with the deserializer's error (e.g.
/// `sec::end_of_stream`) after allocating at most one chunk beyond the data.
template <class T>
caf::error load_raw(caf::deserializer& f, std::vector<T>& xs) {
  size_t n = 0;
  if (auto err = f.begin_sequence(n))
    return err;
  constexpr size_t chunk = size_t{1} << 16;
  xs.clear();
  xs.reserve(std::min(n, chunk));
  while (xs.size() < n) {
    auto at = xs.size();
    auto len = std::min(n - at, chunk);
    xs.resize(at + len);
    if (auto err = f.apply_raw(len * sizeof(T), xs.data() + at))
      return err;
    if constexpr (std::endian::native != std::endian::little)
      swap_bytes(xs.data() + at, len);
  }
  return f.end_sequence();
}

} // namespace detail

/// Makes `batch_message<T>` serializable with CAF's inspectors when `T` is.
/// Batches of integers and floating point numbers (`detail::raw_items`) go
/// over the wire as one little-endian block, others item by item.
template <class Inspector, class T>
typename Inspector::result_type inspect(Inspector& f, batch_message<T>& x) {
  constexpr bool saving = std::is_base_of_v<caf::serializer, Inspector>;
  constexpr bool loading = std::is_base_of_v<caf::deserializer, Inspector>;
  if constexpr (saving && detail::raw_items<T>) {
    if (auto err = f(x.seq, x.emitted))
      return err;
    return detail::save_raw(f, x.items);
  } else if constexpr (loading && detail::raw_items<T>) {
    if (auto err = f(x.seq, x.emitted))
      return err;
    return detail::load_raw(f, x.items);
  } else {
    return f(caf::meta::type_name("coactor.batch"), x.seq, x.emitted, x.items);
  }
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
