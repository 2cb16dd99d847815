// Internal: the sending side of the credit protocol (downstream paths, their
// credit, and the routing of items over them).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/error.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/make_message.hpp>

#include "coactor/actors/detail/ack_log.hpp"
#include "coactor/actors/detail/item_queue.hpp"
#include "coactor/actors/policy.hpp"
#include "coactor/actors/protocol.hpp"

namespace coactor::actors::detail {

/// A downstream actor and its stage name.
struct peer {
  caf::actor hdl;
  std::string name;
};

/// The downstream side of one stage: queued items, the credit each
/// downstream granted, and the routing. Owned by one actor.
template <class T>
class outbound {
 public:
  struct path {
    peer dst;
    int64_t credit = 0;
    uint64_t seq = 0;
    item_queue<T> queue; // by_key only
  };

  outbound(std::vector<peer> downs, routing<T> r, size_t max_batch)
      : routing_(std::move(r)), max_batch_(std::max<size_t>(1, max_batch)) {
    for (auto& d : downs) {
      paths_.emplace_back();
      paths_.back().dst = std::move(d);
    }
  }

  [[nodiscard]] std::vector<path>& paths() noexcept { return paths_; }

  /// Returns the index of the path to `addr`, or -1.
  [[nodiscard]] ptrdiff_t index_of(const caf::actor_addr& addr) const {
    for (size_t i = 0; i < paths_.size(); ++i)
      if (paths_[i].dst.hdl.address() == addr)
        return static_cast<ptrdiff_t>(i);
    return -1;
  }

  /// Returns how many items wait for credit.
  [[nodiscard]] size_t buffered() const noexcept {
    return shared_.size() + keyed_;
  }

  /// Returns the items the stage holds: waiting for credit, or sent and not
  /// yet acknowledged (at-least-once). They count against its capacity.
  [[nodiscard]] size_t held() const noexcept {
    return buffered() + log_.unacked_items();
  }

  // -- at-least-once ----------------------------------------------------------

  /// Returns whether the downstreams acknowledge what they processed.
  [[nodiscard]] bool acked() const noexcept { return acked_; }

  /// Keeps every batch sent from now on until its downstream acknowledges
  /// it. Returns false when the routing cannot promise that (key
  /// partitioning over several copies sends out of order).
  bool require_acks() {
    if (routing_.mode == route::by_key && paths_.size() > 1)
      return false;
    acked_ = true;
    return true;
  }

  /// Takes an acknowledgement of every batch up to `seq` from the downstream
  /// at index `i`; returns false for a batch never sent there.
  bool ack(size_t i, uint64_t seq) {
    return acked_ && log_.ack(i, seq, paths_[i].seq);
  }

  /// Returns how many pushed items, counted from the first, are settled: all
  /// of them without acknowledgements, else those every downstream
  /// acknowledged.
  [[nodiscard]] uint64_t settled() const noexcept {
    return acked_ ? log_.settled() : pushed_;
  }

  /// Returns how many items were pushed so far.
  [[nodiscard]] uint64_t pushed() const noexcept { return pushed_; }

  /// Returns the items sent again to a replaced downstream.
  [[nodiscard]] uint64_t redelivered() const noexcept {
    return log_.redelivered();
  }

  /// Replaces the downstream at index `i` (it died; `dst` is its successor,
  /// e.g. the inlet of a restarted node): it holds no credit, and the
  /// batches it did not acknowledge go to `dst` first. Returns the sequence
  /// number `dst` starts at (to send with its `open`).
  uint64_t replace(size_t i, peer dst) {
    auto& p = paths_[i];
    p.dst = std::move(dst);
    p.credit = 0;
    return log_.redeliver(i, p.seq);
  }

  /// Stops sending to the downstream at index `i` until `replace`.
  void suspend(size_t i) { paths_[i].credit = 0; }

  /// Returns how many more items the downstreams accept now.
  [[nodiscard]] int64_t credit() const noexcept {
    if (paths_.empty())
      return 0;
    if (routing_.mode == route::broadcast) {
      int64_t c = paths_.front().credit;
      for (auto& p : paths_)
        c = std::min(c, p.credit);
      return c;
    }
    int64_t c = 0;
    for (auto& p : paths_)
      c += p.credit;
    return c;
  }

  /// Adds credit from the downstream at `addr`; returns false if unknown.
  bool grant(const caf::actor_addr& addr, int64_t n) {
    auto i = index_of(addr);
    if (i < 0)
      return false;
    paths_[static_cast<size_t>(i)].credit += n;
    return true;
  }

  /// Queues `xs` (emitted at `emitted`) for sending.
  void push(std::vector<T>&& xs, int64_t emitted) {
    if (xs.empty() || paths_.empty())
      return;
    pushed_ += xs.size();
    if (routing_.mode != route::by_key || paths_.size() == 1) {
      shared_.push(std::move(xs), emitted);
      return;
    }
    std::vector<std::vector<T>> parts(paths_.size());
    for (auto& x : xs)
      parts[routing_.key(x) % paths_.size()].push_back(std::move(x));
    for (size_t i = 0; i < parts.size(); ++i) {
      keyed_ += parts[i].size();
      paths_[i].queue.push(std::move(parts[i]), emitted);
    }
  }

  /// Discards up to `n` of the oldest queued items; returns how many.
  size_t drop_oldest(size_t n) {
    auto dropped = shared_.drop_front(n);
    while (dropped < n && keyed_ > 0) {
      auto fullest = std::max_element(paths_.begin(), paths_.end(),
                                      [](const path& a, const path& b) {
                                        return a.queue.size() < b.queue.size();
                                      });
      auto k = fullest->queue.drop_front(n - dropped);
      keyed_ -= k;
      dropped += k;
    }
    return dropped;
  }

  /// Sends queued items within the downstreams' credit (or regardless of it
  /// when `ignore_credit`, for push sources); returns how many it sent.
  size_t emit(caf::event_based_actor* self, bool ignore_credit = false) {
    if (paths_.empty())
      return 0;
    size_t sent = 0;
    if (acked_)
      redeliver(self);
    auto limit = [&](const path& p) -> size_t {
      if (acked_ && log_.resend_pending(index(p)))
        return 0;
      if (ignore_credit)
        return max_batch_;
      return p.credit > 0 ? std::min(static_cast<size_t>(p.credit), max_batch_)
                          : 0;
    };
    switch (routing_.mode) {
      case route::by_key:
        if (paths_.size() > 1) {
          for (auto& p : paths_) {
            while (!p.queue.empty()) {
              auto k = std::min(limit(p), p.queue.size());
              if (k == 0)
                break;
              int64_t emitted = 0;
              auto xs = p.queue.take(k, emitted);
              keyed_ -= k;
              sent_ += k;
              send(self, p, std::move(xs), emitted);
              sent += k;
            }
          }
          break;
        }
        [[fallthrough]];
      case route::round_robin: {
        auto n = paths_.size();
        while (!shared_.empty()) {
          size_t i = 0;
          while (i < n && limit(paths_[(next_ + i) % n]) == 0)
            ++i;
          if (i == n)
            break;
          auto& p = paths_[(next_ + i) % n];
          auto k = std::min(limit(p), shared_.size());
          int64_t emitted = 0;
          auto xs = shared_.take(k, emitted);
          sent_ += k;
          send(self, p, std::move(xs), emitted);
          sent += k;
          next_ = (next_ + i + 1) % n;
        }
        break;
      }
      case route::broadcast:
        while (!shared_.empty()) {
          size_t k = shared_.size();
          for (auto& p : paths_)
            k = std::min(k, limit(p));
          if (k == 0)
            break;
          int64_t emitted = 0;
          auto xs = shared_.take(k, emitted);
          sent_ += k;
          for (size_t i = 0; i + 1 < paths_.size(); ++i)
            send(self, paths_[i], std::vector<T>(xs), emitted);
          send(self, paths_.back(), std::move(xs), emitted);
          sent += k;
        }
        break;
    }
    return sent;
  }

  /// Sends end_of_stream on every path.
  void close(caf::event_based_actor* self) {
    for (auto& p : paths_)
      self->send(p.dst.hdl, end_atom::value);
  }

  /// Sends `stream_error` on every path.
  void fail(caf::event_based_actor* self, const caf::error& err) {
    for (auto& p : paths_)
      self->send(p.dst.hdl, stream_error_atom::value, err);
  }

 private:
  [[nodiscard]] size_t index(const path& p) const noexcept {
    return static_cast<size_t>(&p - paths_.data());
  }

  void send(caf::event_based_actor* self, path& p, std::vector<T>&& xs,
            int64_t emitted) {
    auto n = xs.size();
    p.credit -= static_cast<int64_t>(n);
    if (!acked_) {
      self->send(p.dst.hdl, batch_message<T>{p.seq++, emitted, std::move(xs)});
      return;
    }
    auto msg
        = caf::make_message(batch_message<T>{p.seq, emitted, std::move(xs)});
    log_.sent(index(p), p.seq++, msg, n, sent_);
    self->send(p.dst.hdl, std::move(msg));
  }

  /// Sends the batches replaced downstreams did not acknowledge, in order,
  /// within their credit.
  void redeliver(caf::event_based_actor* self) {
    for (size_t i = 0; i < paths_.size(); ++i) {
      auto& p = paths_[i];
      log_.resend(i, [&](ack_log::entry& e) {
        if (p.credit < static_cast<int64_t>(e.items))
          return false;
        p.credit -= static_cast<int64_t>(e.items);
        self->send(p.dst.hdl, e.msg);
        return true;
      });
    }
  }

  std::vector<path> paths_;
  routing<T> routing_;
  size_t max_batch_;
  item_queue<T> shared_;
  size_t keyed_ = 0;
  size_t next_ = 0;
  bool acked_ = false;
  uint64_t pushed_ = 0;
  uint64_t sent_ = 0; // items sent, in push order (a broadcast counts once)
  ack_log log_;
};

} // namespace coactor::actors::detail
