// Internal: the sending side's record of at-least-once batches, kept until
// their receiver acknowledges them and redelivered when it is replaced.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

#include <caf/message.hpp>

namespace coactor::actors::detail {

/// Batches sent on at-least-once paths and not yet acknowledged, oldest
/// first. Owned by one actor (the sending stage).
///
/// Items are numbered in the order the stage sent them (a broadcast sends
/// one range on every path); `settled()` is how many of them, counted from
/// the first, every receiver acknowledged. A stage acknowledges its own
/// inputs against that figure.
class ack_log {
 public:
  struct entry {
    size_t path = 0;
    uint64_t seq = 0;
    /// The batch message as sent: redelivered as is (CAF messages are
    /// copy-on-write, so keeping it copies no items).
    caf::message msg;
    size_t items = 0;
    /// The number of sent items through this batch.
    uint64_t end = 0;
    bool acked = false;
    bool resend = false;
  };

  /// Records a batch of `items` items sent on `path` as `seq`; `end` is the
  /// count of items sent through this batch.
  void sent(size_t path, uint64_t seq, caf::message msg, size_t items,
            uint64_t end);

  /// Marks every batch on `path` up to `seq` acknowledged. Returns false
  /// when `seq` is newer than anything sent on `path` (a protocol violation);
  /// an acknowledgement of batches already settled is ignored.
  bool ack(size_t path, uint64_t seq, uint64_t next_seq);

  /// Marks every unacknowledged batch of `path` for redelivery (its receiver
  /// was replaced). Returns the sequence number the new receiver starts at:
  /// the oldest such batch's, else `next_seq`.
  uint64_t redeliver(size_t path, uint64_t next_seq);

  /// Returns whether `path` has batches waiting for redelivery (constant
  /// time while none has: the common case, checked per send).
  [[nodiscard]] bool resend_pending(size_t path) const noexcept;

  /// Calls `f(entry&)` for the batches of `path` waiting for redelivery,
  /// oldest first, while it returns true; those it accepted count as
  /// redelivered.
  template <class F>
  void resend(size_t path, F f) {
    if (resends_ == 0)
      return;
    for (auto& e : log_) {
      if (e.path != path || !e.resend)
        continue;
      if (!f(e))
        return;
      e.resend = false;
      --resends_;
      redelivered_ += e.items;
    }
  }

  /// Returns how many sent items, counted from the first, were acknowledged.
  [[nodiscard]] uint64_t settled() const noexcept { return settled_; }

  /// Returns the items held for redelivery.
  [[nodiscard]] size_t unacked_items() const noexcept { return items_; }

  /// Returns the items sent again so far.
  [[nodiscard]] uint64_t redelivered() const noexcept { return redelivered_; }

 private:
  std::deque<entry> log_;
  uint64_t settled_ = 0;
  size_t items_ = 0;
  size_t resends_ = 0; // entries marked for redelivery
  uint64_t redelivered_ = 0;
};

} // namespace coactor::actors::detail
