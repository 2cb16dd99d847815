// coactor::spec parser, second half: edges (defaults, dangling names,
// fan-out, cycles, the chain), then each kind's factory and the item-kind
// check between neighbours.
#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>

#include "parser.hpp"

namespace coactor::spec::internal {

namespace {

const toml::source_region& where(const draft& d) {
  return d.input_node != nullptr ? d.input_node->source() : d.tbl->source();
}

std::string who(const draft& d) {
  return std::string{to_string(d.p.role)} + " '" + d.p.name + "'";
}

// One integer of the `restart` table, at least 1; nullopt (with an error
// recorded) when it is of another type or below 1.
std::optional<int64_t> restart_field(options::impl& st, const toml::node& n,
                                     const std::string& key) {
  auto* i = n.as_integer();
  if (i == nullptr || i->get() < 1) {
    st.error_at(&n, "option 'restart." + key
                        + "': expected an integer >= 1, got "
                        + (i ? std::to_string(i->get()) : type_name(n)));
    return std::nullopt;
  }
  return i->get();
}

// `restart = { intensity = N, period_ms = MS }`: restart_on_failure(N, MS).
actors::restart_policy read_restart(options::impl& st) {
  actors::restart_policy rp;
  auto* n = st.get("restart");
  if (n == nullptr)
    return rp;
  auto* t = n->as_table();
  if (t == nullptr) {
    st.wrong_type("restart", *n, "a table { intensity = N, period_ms = MS }");
    return rp;
  }
  const std::vector<std::string> keys{"intensity", "period_ms"};
  for (auto&& [k, v] : *t) {
    auto key = std::string{k.str()};
    if (std::find(keys.begin(), keys.end(), key) == keys.end())
      st.rep.at(k.source(), st.who() + ": option 'restart': unknown key '" + key
                                + "'" + did_you_mean(nearest_name(key, keys))
                                + "; expected intensity, period_ms");
  }
  std::optional<int64_t> intensity;
  std::optional<int64_t> period = 5000;
  if (auto* i = t->get("intensity"))
    intensity = restart_field(st, *i, "intensity");
  else
    st.error_at(n, "option 'restart': missing 'intensity' (an integer >= 1, "
                   "the restarts allowed within period_ms)");
  if (auto* p = t->get("period_ms"))
    period = restart_field(st, *p, "period_ms");
  if (!intensity || !period)
    return rp;
  rp.intensity = static_cast<size_t>(*intensity);
  rp.period = std::chrono::milliseconds{*period};
  st.settings["restart"] = "intensity " + std::to_string(*intensity)
                           + " within " + std::to_string(*period) + " ms";
  return rp;
}

} // namespace

void parser::check_edges() {
  std::vector<size_t> sources;
  std::vector<size_t> stages;
  size_t sink = 0;
  for (size_t i = 0; i < drafts_.size(); ++i) {
    switch (drafts_[i].p.role) {
      case role::source: sources.push_back(i); break;
      case role::stage: stages.push_back(i); break;
      case role::sink: sink = i; break;
    }
  }
  // Without an `input`, a piece takes the one declared before it (the first
  // stage, or a sink without stages, takes every source).
  auto all_sources = [&] {
    std::vector<std::string> xs;
    for (auto i : sources)
      xs.push_back(drafts_[i].p.name);
    return xs;
  };
  for (size_t k = 0; k < stages.size(); ++k) {
    auto& d = drafts_[stages[k]];
    if (!d.explicit_input)
      d.p.inputs
          = k == 0 ? all_sources() : std::vector{drafts_[stages[k - 1]].p.name};
  }
  if (!drafts_[sink].explicit_input)
    drafts_[sink].p.inputs = stages.empty()
                                 ? all_sources()
                                 : std::vector{drafts_[stages.back()].p.name};
  // Resolve names; count consumers.
  std::vector<std::string> names;
  for (auto& d : drafts_)
    if (d.p.role != role::sink)
      names.push_back(d.p.name);
  std::vector<std::vector<size_t>> ins(drafts_.size());
  std::vector<std::vector<size_t>> consumers(drafts_.size());
  auto before = rep_.errors.size();
  for (size_t i = 0; i < drafts_.size(); ++i) {
    auto& d = drafts_[i];
    if (d.p.role == role::source)
      continue;
    if (d.p.inputs.empty())
      rep_.at(where(d), who(d)
                            + ": 'input' names nothing; expected the name "
                              "of a source or stage");
    for (auto& n : d.p.inputs) {
      auto* up = find(n);
      if (up == nullptr || up->p.role == role::sink) {
        rep_.at(where(d), who(d) + ": input '" + n
                              + (up ? "' is the sink, which emits nothing"
                                    : "' names no source or stage")
                              + did_you_mean(up ? "" : nearest_name(n, names)));
        continue;
      }
      auto j = static_cast<size_t>(up - drafts_.data());
      ins[i].push_back(j);
      consumers[j].push_back(i);
    }
  }
  for (size_t j = 0; j < drafts_.size(); ++j) {
    auto& d = drafts_[j];
    if (d.p.role == role::sink)
      continue;
    if (consumers[j].empty())
      rep_.at(d.tbl->source(), who(d)
                                   + " feeds nothing: no stage or sink "
                                     "names it in 'input'");
    else if (consumers[j].size() > 1)
      rep_.at(where(drafts_[consumers[j][1]]),
              "fan-out: " + who(d) + " feeds both '"
                  + drafts_[consumers[j][0]].p.name + "' and '"
                  + drafts_[consumers[j][1]].p.name
                  + "'; each source or stage feeds one consumer");
  }
  // Cycles among stages (depth-first along inputs).
  std::vector<int> color(drafts_.size(), 0);
  std::vector<size_t> path;
  std::function<void(size_t)> visit = [&](size_t i) {
    color[i] = 1;
    path.push_back(i);
    for (auto j : ins[i]) {
      if (color[j] == 1) {
        std::string cycle;
        auto from = std::find(path.begin(), path.end(), j);
        for (auto it = from; it != path.end(); ++it)
          cycle += drafts_[*it].p.name + " <- ";
        cycle += drafts_[j].p.name;
        rep_.at(where(drafts_[i]), "cycle: " + cycle
                                       + " (each piece takes its input "
                                         "from the one it names)");
      } else if (color[j] == 0) {
        visit(j);
      }
    }
    path.pop_back();
    color[i] = 2;
  };
  for (size_t i = 0; i < drafts_.size(); ++i)
    if (color[i] == 0)
      visit(i);
  if (rep_.errors.size() != before)
    return;
  // The chain from the sink back to the sources.
  std::vector<size_t> rev;
  size_t cur = sink;
  for (size_t guard = 0; guard <= drafts_.size(); ++guard) {
    auto& up = ins[cur];
    bool all_src = std::all_of(up.begin(), up.end(), [&](size_t j) {
      return drafts_[j].p.role == role::source;
    });
    if (all_src)
      break;
    if (up.size() > 1) {
      rep_.at(where(drafts_[cur]),
              "fan-in: " + who(drafts_[cur])
                  + " takes from several pieces; only sources can be merged");
      return;
    }
    cur = up.front();
    rev.push_back(cur);
  }
  chain_.assign(rev.rbegin(), rev.rend());
}

void parser::build_parts() {
  bool checked = !chain_.empty() || rep_.errors.empty();
  // Pieces in flow order: sources, chain, sink; unchained ones last.
  std::vector<size_t> order;
  for (size_t i = 0; i < drafts_.size(); ++i)
    if (drafts_[i].p.role == role::source)
      order.push_back(i);
  for (auto i : chain_)
    order.push_back(i);
  for (size_t i = 0; i < drafts_.size(); ++i)
    if (std::find(order.begin(), order.end(), i) == order.end())
      order.push_back(i);
  std::map<std::string, item_kind> out_kind;
  for (auto i : order) {
    auto& d = drafts_[i];
    if (d.entry == nullptr)
      continue;
    // What arrives: the upstreams' kind (text when they differ).
    item_kind in = item_kind::text;
    std::string first_up;
    if (checked && !d.p.inputs.empty()) {
      first_up = d.p.inputs.front();
      in = out_kind[first_up];
      for (auto& n : d.p.inputs)
        if (out_kind[n] != in)
          in = item_kind::text;
      if (!accepts(d.entry->info.input, in))
        rep_.at(where(d), who(d) + " (" + d.p.kind + ") takes "
                              + std::string{to_string(d.entry->info.input)}
                              + " items, but '" + first_up + "' emits "
                              + std::string{to_string(in)});
    }
    d.p.input = in;
    options::impl state{*d.tbl, d.p.name, d.p.role, in, rep_, lookup_};
    options opts{state};
    for (auto* k : {"name", "kind", "input"})
      state.read.insert(k);
    if (d.p.role != role::source) {
      d.p.parallel
          = static_cast<size_t>(opts.integer_at_least("parallel", 1, 1));
      d.p.route = opts.choice("route", {"round_robin", "broadcast", "by_key"});
      d.p.restarts = read_restart(state);
    } else if (auto* n = state.get("restart")) {
      state.error_at(n, "option 'restart': a source does not restart (only "
                        "stages and the sink do)");
    }
    if (d.p.role == role::stage) {
      d.p.capacity = static_cast<size_t>(opts.integer_at_least(
          "capacity", static_cast<int64_t>(actors::default_stage_capacity), 1));
      auto o = opts.choice(
          "overflow", {"backpressure", "drop_oldest", "drop_newest", "fail"});
      using op = actors::overflow_policy;
      d.p.overflow = o == "drop_oldest"   ? op::drop_oldest
                     : o == "drop_newest" ? op::drop_newest
                     : o == "fail"        ? op::fail
                                          : op::backpressure;
    }
    try {
      switch (d.p.role) {
        case role::source:
          d.p.source = d.entry->source(opts);
          d.p.source.producer.name = d.p.name;
          d.p.output = d.p.source.output;
          break;
        case role::stage:
          d.p.stage = d.entry->stage(opts);
          d.p.output = d.p.stage.output;
          break;
        case role::sink:
          d.p.sink = d.entry->sink(opts);
          if (d.p.sink.single_copy && d.p.parallel > 1)
            opts.error("parallel", "option 'parallel': a " + d.p.kind
                                       + " sink writes one output; "
                                         "expected 1");
          break;
      }
    } catch (const std::exception& ex) {
      rep_.at(d.tbl->source(), who(d) + ": " + ex.what());
    }
    out_kind[d.p.name] = d.p.output;
    d.p.settings = std::move(state.settings);
    std::vector<std::string> known{state.read.begin(), state.read.end()};
    for (auto&& [k, v] : *d.tbl) {
      auto key = std::string{k.str()};
      if (state.read.count(key) == 0)
        rep_.at(k.source(), who(d) + ": unknown option '" + key + "'"
                                + did_you_mean(nearest_name(key, known)));
    }
  }
}

} // namespace coactor::spec::internal
