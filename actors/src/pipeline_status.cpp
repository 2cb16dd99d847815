// Shows a running pipeline in the node's status document (`/status.json`):
// its stages by level with their position, figures and a rate over the last
// second, and the edges between consecutive positions.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "coactor/actors/pipeline.hpp"
#include "coactor/status.hpp"

namespace coactor::actors::detail {

namespace {

using clock = std::chrono::steady_clock;

// One level (a stage and its copies) and what the rate is computed from.
struct level {
  std::string name;
  std::string kind;
  int position = 0;
  uint64_t capacity = 0; // of all copies
  std::vector<stage_probe_ptr> copies;
  clock::time_point started;
  clock::time_point sampled; // of the rate's window
  uint64_t out_sampled = 0;
  double rate = 0;
  bool windowed = false; // whether `rate` is over a window yet
};

uint64_t sum(const std::vector<stage_probe_ptr>& ps,
             std::atomic<uint64_t> stage_probe::*field) {
  uint64_t total = 0;
  for (auto& p : ps)
    total += ((*p).*field).load(std::memory_order_relaxed);
  return total;
}

// Items per second out of `l` over the last second or more; until a second
// has passed, since the start.
double rate_of(level& l, uint64_t out, clock::time_point now) {
  std::chrono::duration<double> d = now - l.sampled;
  if (d.count() >= 1.0) {
    l.rate = static_cast<double>(out - l.out_sampled) / d.count();
    l.sampled = now;
    l.out_sampled = out;
    l.windowed = true;
  } else if (!l.windowed) {
    std::chrono::duration<double> since = now - l.started;
    l.rate = since.count() > 0 ? static_cast<double>(out) / since.count() : 0;
  }
  return l.rate;
}

} // namespace

metrics::collector_handle
publish_status(coactor::node& n, const std::shared_ptr<run_state>& run) {
  static std::atomic<uint64_t> next_id{1};
  auto id = next_id.fetch_add(1, std::memory_order_relaxed);
  std::vector<level> levels;
  for (size_t i = 0; i < run->probes.size(); ++i) {
    auto& p = run->probes[i];
    auto it = std::find_if(levels.begin(), levels.end(),
                           [&](const level& l) { return l.name == p->level; });
    if (it == levels.end()) {
      it = levels.insert(levels.end(), level{});
      it->name = p->level;
      it->kind = p->kind;
      it->position = run->positions[i];
      it->started = it->sampled = run->started;
    }
    it->capacity += p->capacity;
    it->copies.push_back(p);
  }
  std::stable_sort(
      levels.begin(), levels.end(),
      [](const level& a, const level& b) { return a.position < b.position; });
  // Every level at one position feeds every level at the next one.
  auto edges = nlohmann::json::array();
  for (auto& a : levels)
    for (auto& b : levels)
      if (b.position > a.position
          && std::none_of(levels.begin(), levels.end(), [&](const level& c) {
               return c.position > a.position && c.position < b.position;
             }))
        edges.push_back({a.name, b.name});
  // Holds the probes (plain data), not the run: the run holds this handle.
  return status::add(
      n, "pipelines",
      [id, started = run->started, levels = std::move(levels),
       edges = std::move(edges)]() mutable {
        auto now = clock::now();
        auto stages = nlohmann::json::array();
        for (auto& l : levels) {
          auto out = sum(l.copies, &stage_probe::out);
          stages.push_back({{"name", l.name},
                            {"kind", l.kind},
                            {"position", l.position},
                            {"copies", l.copies.size()},
                            {"in", sum(l.copies, &stage_probe::in)},
                            {"out", out},
                            {"dropped", sum(l.copies, &stage_probe::dropped)},
                            {"buffered", sum(l.copies, &stage_probe::buffered)},
                            {"capacity", l.capacity},
                            {"rate", rate_of(l, out, now)}});
        }
        std::chrono::duration<double> elapsed = now - started;
        return nlohmann::json{{"id", id},
                              {"elapsed_seconds", elapsed.count()},
                              {"stages", std::move(stages)},
                              {"edges", edges}};
      });
}

} // namespace coactor::actors::detail
