// Internal: a FIFO of items kept as the batches they arrived in, so whole
// batches move through a stage without copying.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <iterator>
#include <utility>
#include <vector>

namespace coactor::actors::detail {

/// A FIFO of items stored as chunks (the batches they arrived in), each with
/// the emit time of its oldest item. Owned by one actor.
template <class T>
class item_queue {
 public:
  [[nodiscard]] size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

  /// Appends `xs` (emitted at `emitted`); takes ownership.
  void push(std::vector<T>&& xs, int64_t emitted) {
    if (xs.empty())
      return;
    size_ += xs.size();
    chunks_.push_back(chunk{std::move(xs), 0, emitted});
  }

  /// Moves up to `n` items out, oldest first; `emitted` receives the emit
  /// time of the first one. A whole chunk moves without copying.
  std::vector<T> take(size_t n, int64_t& emitted) {
    std::vector<T> out;
    if (n == 0 || size_ == 0)
      return out;
    emitted = chunks_.front().emitted;
    if (auto& front = chunks_.front();
        front.head == 0 && front.items.size() <= n) {
      out = std::move(front.items);
      size_ -= out.size();
      n -= out.size();
      chunks_.pop_front();
      if (n == 0 || size_ == 0)
        return out;
    }
    out.reserve(out.size() + std::min(n, size_));
    while (n > 0 && !chunks_.empty()) {
      auto& c = chunks_.front();
      auto k = std::min(c.items.size() - c.head, n);
      auto first = c.items.begin() + static_cast<std::ptrdiff_t>(c.head);
      std::move(first, first + static_cast<std::ptrdiff_t>(k),
                std::back_inserter(out));
      c.head += k;
      n -= k;
      size_ -= k;
      if (c.head == c.items.size())
        chunks_.pop_front();
    }
    return out;
  }

  /// Discards up to `n` of the oldest items; returns how many.
  size_t drop_front(size_t n) {
    size_t dropped = 0;
    while (n > 0 && !chunks_.empty()) {
      auto& c = chunks_.front();
      auto k = std::min(c.items.size() - c.head, n);
      c.head += k;
      n -= k;
      size_ -= k;
      dropped += k;
      if (c.head == c.items.size())
        chunks_.pop_front();
    }
    return dropped;
  }

 private:
  struct chunk {
    std::vector<T> items;
    size_t head;
    int64_t emitted;
  };
  std::deque<chunk> chunks_;
  size_t size_ = 0;
};

} // namespace coactor::actors::detail
