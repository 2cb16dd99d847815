// The pipeline controller (completion, failure, summary) and the non-template
// parts of the builder.
#include "coactor/actors/pipeline.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <future>
#include <map>
#include <sstream>

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>

namespace coactor::actors {

namespace detail {

namespace {

using start_atom = caf::atom_constant<caf::atom("cx_start")>;

struct controller_state {
  static inline const char* name = "coactor.pipeline";
  std::shared_ptr<run_state> run;
  std::vector<bool> done;
  size_t done_count = 0;
  size_t exited = 0; // stages that reported done and have ended since
  // The controller's own handle until it finished: the stages hold the only
  // other strong references, and CAF 0.17 destroys a stage's state (and with
  // it that reference) before it sends its down message. Without this, an
  // idle controller waiting for the last down would be destroyed unnoticed.
  caf::actor keep_alive;
  bool started = false;
  bool finished = false;
  caf::error pending; // a failure reported before the start
};

void mark_done(controller_state& st, uint32_t index) {
  if (st.done.size() <= index)
    st.done.resize(index + 1, false);
  if (!st.done[index]) {
    st.done[index] = true;
    ++st.done_count;
  }
}

void finish(caf::stateful_actor<controller_state>* self,
            caf::expected<pipeline_summary> result) {
  auto& st = self->state;
  if (st.finished)
    return;
  if (!st.started) { // the actors list is not complete yet
    if (!result && !st.pending)
      st.pending = result.error();
    return;
  }
  st.finished = true;
  if (!result) {
    for (size_t i = 0; i < st.run->actors.size(); ++i)
      if (i >= st.done.size() || !st.done[i])
        self->send_exit(st.run->actors[i], caf::exit_reason::user_shutdown);
  }
  st.run->status.reset(); // no longer running
  auto on_done = std::move(st.run->on_done);
  if (on_done)
    on_done(std::move(result));
  self->quit();
  st.keep_alive = nullptr;
}

// A run completes when every stage reported done and has ended: whoever
// gets the summary may reuse what the stages held (a published inlet name,
// a file).
void check_complete(caf::stateful_actor<controller_state>* self) {
  auto& st = self->state;
  auto n = st.run->actors.size();
  if (st.started && st.done_count == n && st.exited == n)
    finish(self, summarize(*st.run));
}

caf::behavior controller(caf::stateful_actor<controller_state>* self,
                         std::shared_ptr<run_state> run) {
  self->state.run = std::move(run);
  self->state.keep_alive = caf::actor_cast<caf::actor>(self);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    auto& actors = st.run->actors;
    for (size_t i = 0; i < actors.size(); ++i) {
      if (actors[i].address() != dm.source)
        continue;
      if (i < st.done.size() && st.done[i]) {
        ++st.exited;
        check_complete(self);
        return;
      }
      auto& name = st.run->probes[i]->name;
      auto why = dm.reason ? describe(dm.reason)
                           : std::string{"ended without end_of_stream"};
      finish(self, make_error(errc::stage_failed,
                              "stage '" + name + "' died: " + why));
      return;
    }
  });
  return {
      [self](start_atom) {
        auto& st = self->state;
        st.started = true;
        for (auto& a : st.run->actors)
          self->monitor(a);
        if (st.pending)
          finish(self, std::move(st.pending));
        else
          check_complete(self);
      },
      [self](stage_done_atom, uint32_t index) {
        mark_done(self->state, index);
        check_complete(self);
      },
      [self](stage_failed_atom, uint32_t index, caf::error& err) {
        mark_done(self->state, index); // it ended; not a death to report
        finish(self, std::move(err));
      },
      [self](stream_error_atom, caf::error& err) {
        finish(self, std::move(err));
      },
  };
}

std::string format_duration(std::chrono::nanoseconds d) {
  char buf[64];
  auto ns = static_cast<double>(d.count());
  if (ns < 1e3)
    std::snprintf(buf, sizeof(buf), "%.0f ns", ns);
  else if (ns < 1e6)
    std::snprintf(buf, sizeof(buf), "%.1f us", ns / 1e3);
  else if (ns < 1e9)
    std::snprintf(buf, sizeof(buf), "%.1f ms", ns / 1e6);
  else
    std::snprintf(buf, sizeof(buf), "%.2f s", ns / 1e9);
  return buf;
}

} // namespace

stage_context build_context::add(std::string name, std::string level,
                                 std::string kind, uint64_t capacity,
                                 int position) {
  auto probe = std::make_shared<stage_probe>();
  probe->name = std::move(name);
  probe->level = std::move(level);
  probe->kind = std::move(kind);
  probe->capacity = capacity;
  stage_context ctx;
  ctx.index = static_cast<uint32_t>(run->probes.size());
  ctx.probe = probe;
  ctx.controller = controller;
  run->probes.push_back(std::move(probe));
  run->positions.push_back(position);
  run->actors.emplace_back();
  return ctx;
}

caf::actor spawn_controller(coactor::node& n, std::shared_ptr<run_state> run) {
  return n.spawn(controller, std::move(run));
}

void start_controller(const caf::actor& controller) {
  caf::anon_send(controller, start_atom::value);
}

pipeline_summary summarize(const run_state& run) {
  pipeline_summary s;
  s.duration = std::chrono::steady_clock::now() - run.started;
  // Levels in pipeline order (the builder registers them sink first).
  std::vector<size_t> order(run.probes.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return run.positions[a] < run.positions[b];
  });
  latency_histogram latency;
  for (auto i : order) {
    auto& p = *run.probes[i];
    auto in = p.in.load(std::memory_order_relaxed);
    auto out = p.out.load(std::memory_order_relaxed);
    auto dropped = p.dropped.load(std::memory_order_relaxed);
    auto high = p.high_water.load(std::memory_order_relaxed);
    auto redelivered = p.redelivered.load(std::memory_order_relaxed);
    auto duplicates = p.duplicates.load(std::memory_order_relaxed);
    auto restarts = p.restarts.load(std::memory_order_relaxed);
    s.redelivered += redelivered;
    s.duplicates += duplicates;
    s.restarts += restarts;
    if (counts_as_produced(p.kind))
      s.produced += out;
    if (counts_as_consumed(p.kind)) {
      s.consumed += out;
      latency.merge(p.latency);
    }
    s.dropped += dropped;
    auto it = std::find_if(
        s.stages.begin(), s.stages.end(),
        [&](const stage_summary& x) { return x.name == p.level; });
    if (it == s.stages.end()) {
      stage_summary x;
      x.name = p.level;
      x.kind = p.kind;
      x.copies = 0;
      x.capacity = p.capacity;
      s.stages.push_back(x);
      it = s.stages.end() - 1;
    }
    ++it->copies;
    it->in += in;
    it->out += out;
    it->dropped += dropped;
    it->redelivered += redelivered;
    it->duplicates += duplicates;
    it->restarts += restarts;
    it->high_water = std::max(it->high_water, high);
  }
  auto secs = std::chrono::duration<double>(s.duration).count();
  s.rate = secs > 0 ? static_cast<double>(s.consumed) / secs : 0;
  s.latency_p50 = latency.quantile(0.5);
  s.latency_p99 = latency.quantile(0.99);
  return s;
}

std::string unique_name(std::vector<std::string>& taken, std::string name) {
  auto candidate = name;
  for (int i = 2;
       std::find(taken.begin(), taken.end(), candidate) != taken.end(); ++i)
    candidate = name + "#" + std::to_string(i);
  taken.push_back(candidate);
  return candidate;
}

std::string copy_name(const std::string& level, size_t i, size_t n) {
  if (n == 1)
    return level;
  return level + "[" + std::to_string(i) + "]";
}

} // namespace detail

// -- pipeline_summary
// ----------------------------------------------------------

const stage_summary* pipeline_summary::stage(const std::string& name) const {
  for (auto& x : stages)
    if (x.name == name)
      return &x;
  return nullptr;
}

std::string pipeline_summary::to_string() const {
  std::ostringstream out;
  char rate_buf[32];
  std::snprintf(rate_buf, sizeof(rate_buf), "%.3gM", rate / 1e6);
  out << "pipeline: " << produced << " produced, " << consumed << " consumed, "
      << dropped << " dropped in " << detail::format_duration(duration) << " ("
      << rate_buf << " items/s), latency p50 "
      << detail::format_duration(latency_p50) << " p99 "
      << detail::format_duration(latency_p99) << '\n';
  if (redelivered > 0 || duplicates > 0)
    out << "  at least once: " << redelivered << " redelivered, " << duplicates
        << " duplicates dropped\n";
  if (restarts > 0)
    out << "  restarts after failures: " << restarts << '\n';
  for (auto& x : stages) {
    out << "  " << x.name;
    if (x.copies > 1)
      out << " x" << x.copies;
    out << " (" << x.kind << "): in " << x.in << ", out " << x.out;
    if (x.kind == "buffer")
      out << ", dropped " << x.dropped << ", high-water " << x.high_water << "/"
          << x.capacity;
    if (x.redelivered > 0)
      out << ", redelivered " << x.redelivered;
    if (x.duplicates > 0)
      out << ", duplicates " << x.duplicates;
    if (x.restarts > 0)
      out << ", restarted " << x.restarts
          << (x.restarts == 1 ? " time" : " times");
    out << '\n';
  }
  return out.str();
}

// -- running_pipeline
// ----------------------------------------------------------

pipeline_progress running_pipeline::progress() const {
  pipeline_progress p;
  if (!run_)
    return p;
  for (auto& probe : run_->probes) {
    if (detail::counts_as_produced(probe->kind))
      p.produced += probe->out.load(std::memory_order_relaxed);
    else if (detail::counts_as_consumed(probe->kind))
      p.consumed += probe->out.load(std::memory_order_relaxed);
    else if (probe->kind == "buffer") {
      p.buffered += probe->buffered.load(std::memory_order_relaxed);
      p.buffer_capacity += probe->capacity;
    }
    p.dropped += probe->dropped.load(std::memory_order_relaxed);
  }
  p.elapsed = std::chrono::steady_clock::now() - run_->started;
  return p;
}

pipeline_summary running_pipeline::snapshot() const {
  return run_ ? detail::summarize(*run_) : pipeline_summary{};
}

std::vector<std::pair<std::string, caf::actor>>
running_pipeline::stages() const {
  std::vector<std::pair<std::string, caf::actor>> result;
  if (run_)
    for (size_t i = 0; i < run_->actors.size(); ++i)
      result.emplace_back(run_->probes[i]->name, run_->actors[i]);
  return result;
}

caf::actor running_pipeline::stage(const std::string& name) const {
  if (run_)
    for (size_t i = 0; i < run_->actors.size(); ++i)
      if (run_->probes[i]->name == name)
        return run_->actors[i];
  return {};
}

void running_pipeline::cancel() const {
  if (controller_)
    caf::anon_send(controller_, stream_error_atom::value,
                   make_error(errc::cancelled, "pipeline cancelled"));
}

// -- runnable_pipeline
// ---------------------------------------------------------

caf::expected<running_pipeline>
runnable_pipeline::start(completion_handler on_done) const {
  if (err_)
    return err_;
  if (node_ == nullptr || !node_->running())
    return make_error(errc::node_stopped, "pipeline start");
  auto run = std::make_shared<detail::run_state>();
  run->on_done = std::move(on_done);
  run->started = std::chrono::steady_clock::now();
  detail::build_context ctx;
  ctx.node = node_;
  ctx.run = run;
  ctx.controller = detail::spawn_controller(*node_, run);
  build_(ctx);
  if (node_->options().metrics)
    run->publisher = detail::publish_metrics(*node_, run);
  run->status = detail::publish_status(*node_, run);
  detail::start_controller(ctx.controller);
  return running_pipeline{run, ctx.controller};
}

caf::expected<pipeline_summary> runnable_pipeline::run() const {
  auto done = std::make_shared<std::promise<caf::expected<pipeline_summary>>>();
  auto fut = done->get_future();
  auto started = start([done](caf::expected<pipeline_summary> r) {
    done->set_value(std::move(r));
  });
  if (!started)
    return started.error();
  return fut.get();
}

// -- producers
// -----------------------------------------------------------------

producer<std::string> from_lines(std::string path, producer_options opts) {
  auto p = from_generator<std::string>(
      [path]() {
        auto in = std::make_shared<std::ifstream>(path);
        auto ok = static_cast<bool>(*in);
        return [in, ok, path](std::vector<std::string>& out,
                              size_t max) -> caf::expected<bool> {
          if (!ok)
            return make_error(errc::invalid_argument,
                              "cannot open '" + path + "'");
          std::string line;
          for (size_t i = 0; i < max; ++i) {
            if (!std::getline(*in, line))
              return false;
            out.push_back(std::move(line));
          }
          return true;
        };
      },
      opts);
  p.name = "lines";
  return p;
}

} // namespace coactor::actors
