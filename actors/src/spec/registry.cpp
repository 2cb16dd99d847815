// coactor::spec::registry: named kinds, lookups and nearest-name suggestions.
#include "coactor/spec/registry.hpp"

#include <algorithm>
#include <utility>

namespace coactor::spec {

std::string_view to_string(item_kind x) noexcept {
  switch (x) {
    case item_kind::text: return "text";
    case item_kind::json: return "json";
    case item_kind::number: return "number";
  }
  return "text";
}

bool accepts(item_kind wanted, item_kind got) noexcept {
  return wanted == item_kind::text || wanted == got;
}

std::string_view to_string(role x) noexcept {
  switch (x) {
    case role::source: return "source";
    case role::stage: return "stage";
    case role::sink: return "sink";
  }
  return "stage";
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min(
          {row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

registry registry::with_catalog() {
  registry r;
  add_catalog_sources(r);
  add_catalog_stages(r);
  add_catalog_sinks(r);
  return r;
}

void registry::add_source(std::string name, std::string summary,
                          factory<source_part> make) {
  entry e;
  e.info = {name, role::source, item_kind::text, std::move(summary)};
  e.source = std::move(make);
  entries_[{role::source, std::move(name)}] = std::move(e);
}

void registry::add_stage(std::string name, item_kind input, std::string summary,
                         factory<stage_part> make) {
  entry e;
  e.info = {name, role::stage, input, std::move(summary)};
  e.stage = std::move(make);
  entries_[{role::stage, std::move(name)}] = std::move(e);
}

void registry::add_sink(std::string name, item_kind input, std::string summary,
                        factory<sink_part> make) {
  entry e;
  e.info = {name, role::sink, input, std::move(summary)};
  e.sink = std::move(make);
  entries_[{role::sink, std::move(name)}] = std::move(e);
}

const registry::entry* registry::lookup(role r, const std::string& name) const {
  auto i = entries_.find({r, name});
  return i == entries_.end() ? nullptr : &i->second;
}

const kind_info* registry::find(role r, const std::string& name) const {
  auto* e = lookup(r, name);
  return e == nullptr ? nullptr : &e->info;
}

std::string nearest_name(std::string_view x,
                         const std::vector<std::string>& names) {
  std::string best;
  size_t best_d = 0;
  for (auto& n : names) {
    auto d = edit_distance(x, n);
    if (best.empty() || d < best_d) {
      best = n;
      best_d = d;
    }
  }
  // Suggest only what a typo could explain.
  return best_d <= std::max<size_t>(2, x.size() / 3) ? best : std::string{};
}

std::string registry::nearest(role r, const std::string& name) const {
  std::vector<std::string> names;
  for (auto& [key, e] : entries_)
    if (key.first == r)
      names.push_back(key.second);
  return nearest_name(name, names);
}

std::vector<kind_info> registry::kinds() const {
  std::vector<kind_info> xs;
  for (auto& [key, e] : entries_)
    xs.push_back(e.info);
  return xs;
}

} // namespace coactor::spec
