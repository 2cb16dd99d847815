// Non-template parts of the stage actors: errors naming the stage, reports to
// the pipeline controller, the latency histogram and the policy names.
#include <bit>
#include <chrono>
#include <exception>
#include <stdexcept>
#include <string>

#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/to_string.hpp>

#include "coactor/actors/detail/probe.hpp"
#include "coactor/actors/detail/stage_actors.hpp"
#include "coactor/actors/policy.hpp"
#include "coactor/log.hpp"
#include "coactor/remote.hpp"

namespace coactor::actors {

std::string_view to_string(overflow_policy x) noexcept {
  switch (x) {
    case overflow_policy::backpressure: return "backpressure";
    case overflow_policy::drop_oldest: return "drop_oldest";
    case overflow_policy::drop_newest: return "drop_newest";
    case overflow_policy::fail: return "fail";
  }
  return "?";
}

std::string_view to_string(delivery x) noexcept {
  return x == delivery::at_least_once ? "at_least_once" : "at_most_once";
}

std::string_view to_string(route x) noexcept {
  switch (x) {
    case route::round_robin: return "round_robin";
    case route::broadcast: return "broadcast";
    case route::by_key: return "by_key";
  }
  return "?";
}

} // namespace coactor::actors

namespace coactor::actors::detail {

caf::error stage_error(const stage_probe& probe, errc x,
                       const std::string& what) {
  return make_error(x, "stage '" + probe.name + "': " + what);
}

caf::error exception_error(const stage_probe& probe, std::exception_ptr ep) {
  std::string what = "unknown exception";
  try {
    std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  return stage_error(probe, errc::stage_failed, "exception: " + what);
}

namespace {

std::string describe_period(std::chrono::nanoseconds d) {
  using namespace std::chrono;
  if (d % seconds{1} == nanoseconds{0})
    return std::to_string(duration_cast<seconds>(d).count()) + " s";
  return std::to_string(duration_cast<milliseconds>(d).count()) + " ms";
}

} // namespace

caf::error restarter::restart(caf::local_actor* self, stage_probe& probe,
                              const caf::error& err) {
  if (!enabled())
    return err;
  auto now = now_ns();
  while (!recent_.empty() && now - recent_.front() > policy_.period.count())
    recent_.pop_front();
  if (recent_.size() >= policy_.intensity)
    return stage_error(probe, errc::restart_limit,
                       "failed more than " + std::to_string(policy_.intensity)
                           + " times within " + describe_period(policy_.period)
                           + "; last failure: " + describe(err));
  recent_.push_back(now);
  probe.add_restart();
  log::warn(self, "{}; restarting it ({} of {} within {})", describe(err),
            recent_.size(), policy_.intensity, describe_period(policy_.period));
  return {};
}

caf::error peer_down_error(caf::event_based_actor* self,
                           const stage_probe& probe, const char* role,
                           const std::string& peer, const caf::down_msg& dm) {
  std::string why;
  if (!dm.reason)
    why = "ended without end_of_stream";
  else if (dm.reason == caf::exit_reason::remote_link_unreachable)
    why = "its node became unreachable (connection lost or no heartbeat)";
  else
    why = describe(dm.reason);
  std::string where;
  if (dm.source.node() != self->node())
    where = " on " + remote::describe_node(self->system(), dm.source.node());
  return make_error(errc::stage_failed, "stage '" + peer + "'" + where + " ("
                                            + role + " of '" + probe.name
                                            + "') died: " + why);
}

void report_failure(caf::event_based_actor* self, const stage_context& ctx,
                    const caf::error& err) {
  if (ctx.controller)
    self->send(ctx.controller, stage_failed_atom::value, ctx.index, err);
  self->quit(err);
}

void report_done(caf::event_based_actor* self, const stage_context& ctx) {
  if (ctx.controller)
    self->send(ctx.controller, stage_done_atom::value, ctx.index);
  self->quit();
}

// -- latency_histogram
// ---------------------------------------------------------

namespace {

size_t bucket_of(uint64_t ns) noexcept {
  if (ns < latency_histogram::sub_buckets)
    return static_cast<size_t>(ns);
  auto exp = static_cast<size_t>(std::bit_width(ns)) - 1; // >= 3
  auto mantissa = static_cast<size_t>(ns >> (exp - 3)) & 7u;
  return (exp - 2) * latency_histogram::sub_buckets + mantissa;
}

uint64_t upper_bound_of(size_t bucket) noexcept {
  if (bucket < latency_histogram::sub_buckets)
    return bucket;
  auto exp = bucket / latency_histogram::sub_buckets + 2;
  auto mantissa = bucket % latency_histogram::sub_buckets;
  return ((8 + mantissa + 1) << (exp - 3)) - 1;
}

} // namespace

void latency_histogram::record(int64_t ns, uint64_t weight) noexcept {
  auto x = ns < 0 ? uint64_t{0} : static_cast<uint64_t>(ns);
  auto b = bucket_of(x);
  if (b >= bucket_count)
    b = bucket_count - 1;
  stage_probe::bump(buckets_[b], weight);
  stage_probe::bump(count_, weight);
  stage_probe::bump(sum_ns_, x * weight);
}

void latency_histogram::merge(const latency_histogram& other) noexcept {
  for (size_t i = 0; i < bucket_count; ++i)
    stage_probe::bump(buckets_[i],
                      other.buckets_[i].load(std::memory_order_relaxed));
  stage_probe::bump(count_, other.count());
  stage_probe::bump(sum_ns_, other.sum_ns_.load(std::memory_order_relaxed));
}

uint64_t latency_histogram::export_to(const std::vector<uint64_t>& bounds_ns,
                                      std::vector<uint64_t>& counts) const {
  counts.assign(bounds_ns.size() + 1, 0);
  std::size_t k = 0;
  for (size_t i = 0; i < bucket_count; ++i) {
    auto n = buckets_[i].load(std::memory_order_relaxed);
    if (n == 0)
      continue;
    auto upper = upper_bound_of(i);
    while (k < bounds_ns.size() && upper > bounds_ns[k])
      ++k; // bounds and fine buckets both ascend
    counts[k] += n;
  }
  return sum_ns_.load(std::memory_order_relaxed);
}

std::chrono::nanoseconds latency_histogram::quantile(double q) const noexcept {
  if (count() == 0)
    return std::chrono::nanoseconds{0};
  auto total = count();
  auto rank = static_cast<uint64_t>(q * static_cast<double>(total));
  if (rank >= total)
    rank = total - 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < bucket_count; ++i) {
    seen += buckets_[i].load(std::memory_order_relaxed);
    if (seen > rank)
      return std::chrono::nanoseconds{static_cast<int64_t>(upper_bound_of(i))};
  }
  return std::chrono::nanoseconds{0};
}

} // namespace coactor::actors::detail
