// The sending side's record of at-least-once batches.
#include "coactor/actors/detail/ack_log.hpp"

#include <utility>

namespace coactor::actors::detail {

void ack_log::sent(size_t path, uint64_t seq, caf::message msg, size_t items,
                   uint64_t end) {
  log_.push_back(entry{path, seq, std::move(msg), items, end});
  items_ += items;
}

bool ack_log::ack(size_t path, uint64_t seq, uint64_t next_seq) {
  if (seq >= next_seq)
    return false;
  for (auto& e : log_) {
    if (e.path != path)
      continue;
    if (e.seq > seq) // sent in order: the rest of the path is newer
      break;
    if (!e.acked) {
      e.acked = true;
      if (e.resend) {
        e.resend = false;
        --resends_;
      }
      items_ -= e.items;
    }
  }
  while (!log_.empty() && log_.front().acked) {
    settled_ = log_.front().end;
    log_.pop_front();
  }
  return true;
}

uint64_t ack_log::redeliver(size_t path, uint64_t next_seq) {
  auto first = next_seq;
  bool found = false;
  for (auto& e : log_) {
    if (e.path != path || e.acked)
      continue;
    if (!e.resend) {
      e.resend = true;
      ++resends_;
    }
    if (!found) {
      first = e.seq;
      found = true;
    }
  }
  return first;
}

bool ack_log::resend_pending(size_t path) const noexcept {
  if (resends_ == 0)
    return false;
  for (auto& e : log_)
    if (e.path == path && e.resend)
      return true;
  return false;
}

} // namespace coactor::actors::detail
