// The receiving side of the credit protocol.
#include "coactor/actors/detail/inbound.hpp"

#include <algorithm>

#include <caf/send.hpp>

#include "coactor/actors/protocol.hpp"
#include "coactor/error.hpp"

namespace coactor::actors::detail {

namespace {

inbound::path make_path(caf::actor hdl, std::string name) {
  inbound::path p;
  p.hdl = std::move(hdl);
  p.name = std::move(name);
  return p;
}

} // namespace

bool inbound::open(caf::actor hdl, std::string name) {
  if (find(hdl.address()) != nullptr)
    return false;
  paths_.push_back(make_path(std::move(hdl), std::move(name)));
  return true;
}

bool inbound::open_acked(caf::actor hdl, std::string name, uint64_t first_seq) {
  auto* p = find(hdl.address());
  if (p == nullptr) {
    paths_.push_back(make_path(std::move(hdl), std::move(name)));
    p = &paths_.back();
  } else if (p->received) {
    return false;
  }
  p->acks = true;
  p->next_seq = first_seq;
  any_acked_ = true;
  return true;
}

void inbound::resolve(uint64_t mark) noexcept {
  for (auto& p : paths_)
    for (auto& [seq, m] : p.unsettled)
      if (m == held_back)
        m = mark;
}

void inbound::settle(uint64_t settled) {
  for (auto& p : paths_) {
    if (p.unsettled.empty() || p.unsettled.front().second > settled)
      continue;
    uint64_t last = 0;
    while (!p.unsettled.empty() && p.unsettled.front().second <= settled) {
      last = p.unsettled.front().first;
      p.unsettled.pop_front();
    }
    acknowledge(p, last);
  }
}

void inbound::send_acks(caf::event_based_actor* self) {
  if (!any_acked_)
    return;
  for (auto& p : paths_) {
    if (p.ack_pending) {
      p.ack_pending = false;
      self->send(p.hdl, ack_atom::value, p.ack_seq);
    }
  }
}

void inbound::send_acks_soon(caf::event_based_actor* self) {
  if (!any_acked_ || flush_scheduled_)
    return;
  auto pending = std::any_of(paths_.begin(), paths_.end(),
                             [](const path& p) { return p.ack_pending; });
  if (!pending)
    return;
  if (self->mailbox().empty()) {
    send_acks(self);
  } else {
    flush_scheduled_ = true;
    self->send(self, ack_flush_atom::value);
  }
}

inbound::path* inbound::find(const caf::actor_addr& addr) noexcept {
  for (auto& p : paths_)
    if (p.hdl.address() == addr)
      return &p;
  return nullptr;
}

caf::expected<size_t> inbound::arrived(path& p, uint64_t seq, size_t n) {
  if (seq != p.next_seq)
    return make_error(errc::protocol_violation,
                      "batch " + std::to_string(seq) + " from '" + p.name
                          + "' where " + std::to_string(p.next_seq)
                          + " was due");
  ++p.next_seq;
  p.received = true;
  auto k = static_cast<int64_t>(n);
  auto credited = std::min(k, p.outstanding);
  p.outstanding -= credited;
  outstanding_ -= credited;
  return static_cast<size_t>(k - credited);
}

void inbound::drop(path& p) {
  outstanding_ -= p.outstanding;
  auto i = std::find_if(paths_.begin(), paths_.end(),
                        [&p](const path& x) { return &x == &p; });
  if (i != paths_.end())
    paths_.erase(i);
}

bool inbound::all_ended() const noexcept {
  if (paths_.size() < expected_)
    return false;
  return std::all_of(paths_.begin(), paths_.end(),
                     [](const path& p) { return p.ended; });
}

void inbound::grant(caf::event_based_actor* self, size_t buffered) {
  send_demand(self, buffered);
  send_acks_soon(self);
}

void inbound::send_demand(caf::event_based_actor* self, size_t buffered) {
  size_t active = 0;
  for (auto& p : paths_)
    if (!p.ended)
      ++active;
  if (active == 0)
    return;
  // Upstreams not yet opened get their share once they open.
  auto open_or_expected
      = std::max(active, expected_ - (paths_.size() - active));
  auto share = std::max<int64_t>(
      1,
      capacity_ / static_cast<int64_t>(std::max<size_t>(1, open_or_expected)));
  auto free = capacity_ - static_cast<int64_t>(buffered) - outstanding_;
  auto min_grant = std::max<int64_t>(1, share / 4);
  for (auto& p : paths_) {
    if (free <= 0)
      return;
    if (p.ended)
      continue;
    auto want = share - p.outstanding;
    if (want <= 0)
      continue;
    auto g = std::min(want, free);
    if (g >= min_grant || p.outstanding == 0) {
      p.outstanding += g;
      outstanding_ += g;
      free -= g;
      if (p.ack_pending) {
        p.ack_pending = false;
        self->send(p.hdl, demand_atom::value, g, p.ack_seq);
      } else {
        self->send(p.hdl, demand_atom::value, g);
      }
    }
  }
}

void inbound::fail(caf::event_based_actor* self, const caf::error& err) {
  for (auto& p : paths_)
    if (!p.ended)
      self->send(p.hdl, stream_error_atom::value, err);
}

} // namespace coactor::actors::detail
