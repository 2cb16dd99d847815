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
    auto limit = [&](const path& p) -> size_t {
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
  void send(caf::event_based_actor* self, path& p, std::vector<T>&& xs,
            int64_t emitted) {
    p.credit -= static_cast<int64_t>(xs.size());
    self->send(p.dst.hdl, batch_message<T>{p.seq++, emitted, std::move(xs)});
  }

  std::vector<path> paths_;
  routing<T> routing_;
  size_t max_batch_;
  item_queue<T> shared_;
  size_t keyed_ = 0;
  size_t next_ = 0;
};

} // namespace coactor::actors::detail
