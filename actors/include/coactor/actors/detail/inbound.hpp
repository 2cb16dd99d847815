// Internal: the receiving side of the credit protocol (upstream paths and
// the credit granted to them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/error.hpp>
#include <caf/event_based_actor.hpp>

namespace coactor::actors::detail {

/// The upstream side of one stage: which upstreams opened a path, how much
/// credit each still holds, which ended. Keeps `buffered + outstanding credit
/// <= capacity`. Owned by one actor.
class inbound {
 public:
  struct path {
    caf::actor hdl;
    std::string name;
    int64_t outstanding = 0;
    uint64_t next_seq = 0;
    bool ended = false;
    /// At-least-once: the upstream wants `ack`s, and the batches processed
    /// but not yet acknowledged, with the mark their outputs must settle to.
    bool acks = false;
    bool received = false;
    std::deque<std::pair<uint64_t, uint64_t>> unsettled;
    /// An acknowledgement not yet sent: every batch up to `ack_seq`.
    bool ack_pending = false;
    uint64_t ack_seq = 0;
  };

  /// A mark that waits for `resolve` (the stage still holds outputs of the
  /// batch, e.g. a partial batch).
  static constexpr uint64_t held_back = std::numeric_limits<uint64_t>::max();

  inbound(size_t expected, size_t capacity)
      : expected_(expected), capacity_(static_cast<int64_t>(capacity)) {}

  /// Registers the sender of an `open`; returns false on a duplicate.
  bool open(caf::actor hdl, std::string name);

  /// Registers the sender of an at-least-once `open` whose batches start at
  /// `first_seq`, or switches its open path to acknowledgements. Returns
  /// false when that path already received batches.
  bool open_acked(caf::actor hdl, std::string name, uint64_t first_seq);

  /// Returns whether an upstream wants acknowledgements.
  [[nodiscard]] bool any_acked() const noexcept { return any_acked_; }

  /// Notes that the batch `seq` of `p` was processed: it is acknowledged
  /// once the stage's settled outputs reach `mark` (`held_back`: after the
  /// next `resolve`).
  void processed(path& p, uint64_t seq, uint64_t mark) {
    if (p.acks)
      p.unsettled.emplace_back(seq, mark);
  }

  /// Gives held-back batches the mark `mark` (the stage emitted all it held).
  void resolve(uint64_t mark) noexcept;

  /// Notes that every batch of `p` up to `seq` was processed: acknowledged
  /// by the next `grant` (with its demand when it sends one) or `send_acks`.
  void acknowledge(path& p, uint64_t seq) noexcept {
    p.ack_pending = true;
    p.ack_seq = seq;
  }

  /// Acknowledges, per upstream, the batches whose mark is at most
  /// `settled` (one cumulative acknowledgement each, sent as `acknowledge`).
  void settle(uint64_t settled);

  /// Sends the acknowledgements not yet sent.
  void send_acks(caf::event_based_actor* self);

  /// Sends the acknowledgements not yet sent when the actor's mailbox is
  /// empty; else sends the actor one `ack_flush_atom` (behind what its
  /// mailbox holds), whose handler calls `flush_acks`: acknowledgements of a
  /// burst go as one, and none waits longer than the actor's queue.
  void send_acks_soon(caf::event_based_actor* self);

  /// Takes the actor's `ack_flush_atom`: sends what is pending.
  void flush_acks(caf::event_based_actor* self) {
    flush_scheduled_ = false;
    send_acks(self);
  }

  /// Returns the path of `addr`, or null.
  path* find(const caf::actor_addr& addr) noexcept;

  /// Accounts for `n` items arriving on `p` with sequence number `seq`.
  /// Returns how many of them exceed the credit `p` held (0 when within it),
  /// or an error when `seq` is out of order.
  caf::expected<size_t> arrived(path& p, uint64_t seq, size_t n);

  /// Marks `p` ended; the credit it did not use goes back to the others.
  void end(path& p) noexcept {
    outstanding_ -= p.outstanding;
    p.outstanding = 0;
    p.ended = true;
  }

  /// Forgets `p` (its upstream was lost and a successor may open a path in
  /// its place): its credit goes back to the others, its batches processed
  /// but not acknowledged stay unacknowledged. Invalidates `p`.
  void drop(path& p);

  /// Restarts `p` for its sender `hdl` opening it again at `first_seq` (it
  /// reconnected before its loss was noticed here): as `drop` followed by
  /// `open_acked`, keeping its place.
  void reopen(path& p, caf::actor hdl, uint64_t first_seq) noexcept {
    outstanding_ -= p.outstanding;
    p.hdl = std::move(hdl);
    p.outstanding = 0;
    p.next_seq = first_seq;
    p.received = false;
    p.unsettled.clear();
    p.ack_pending = false;
  }

  /// Returns whether every expected upstream opened and ended.
  [[nodiscard]] bool all_ended() const noexcept;

  /// Sends `demand` to upstreams so that `buffered` plus the outstanding
  /// credit fills the capacity, in grants large enough to make big batches,
  /// and the acknowledgements not yet sent: with the demand to the same
  /// upstream (`(demand, n, seq)`, one message instead of two), else alone
  /// (`send_acks_soon`).
  void grant(caf::event_based_actor* self, size_t buffered);

  /// Sends `stream_error` to every upstream that has not ended.
  void fail(caf::event_based_actor* self, const caf::error& err);

  [[nodiscard]] const std::vector<path>& paths() const noexcept {
    return paths_;
  }

 private:
  void send_demand(caf::event_based_actor* self, size_t buffered);

  std::vector<path> paths_;
  size_t expected_;
  int64_t capacity_;
  int64_t outstanding_ = 0;
  bool any_acked_ = false;
  bool flush_scheduled_ = false;
};

} // namespace coactor::actors::detail
