// coactor::spec::parse: TOML → pieces → edges checked (dangling, cycles,
// fan-out) → kinds built and item kinds checked, every problem located.
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "parser.hpp"

namespace coactor::spec::internal {

namespace {

const std::vector<std::string> top_keys
    = {"pipeline", "vars", "source", "stage", "sink"};
const std::vector<std::string> common_keys
    = {"name", "kind", "input", "parallel", "route", "capacity", "overflow"};

} // namespace

std::string did_you_mean(const std::string& best) {
  return best.empty() ? std::string{} : " (did you mean '" + best + "'?)";
}

draft* parser::find(const std::string& name) {
  for (auto& d : drafts_)
    if (d.p.name == name)
      return &d;
  return nullptr;
}

void parser::read_header(const toml::table& doc, plan& out) {
  for (auto&& [k, v] : doc) {
    auto key = std::string{k.str()};
    if (std::find(top_keys.begin(), top_keys.end(), key) == top_keys.end())
      rep_.at(k.source(), "unknown key '" + key + "'"
                              + did_you_mean(nearest_name(key, top_keys))
                              + "; expected pipeline, vars, source, stage "
                                "or sink");
  }
  if (auto* vars = doc.get("vars")) {
    if (auto* t = vars->as_table()) {
      for (auto&& [k, v] : *t) {
        if (auto* s = v.as_string())
          spec_vars_[std::string{k.str()}] = s->get();
        else
          rep_.at(v.source(), "vars: '" + std::string{k.str()}
                                  + "': expected a string, got "
                                  + type_name(v));
      }
    } else {
      rep_.at(vars->source(),
              "'vars': expected a table, got " + type_name(*vars));
    }
  }
  if (auto* pl = doc.get("pipeline")) {
    auto* t = pl->as_table();
    if (t == nullptr) {
      rep_.at(pl->source(),
              "'pipeline': expected a table, got " + type_name(*pl));
      return;
    }
    for (auto&& [k, v] : *t) {
      auto key = std::string{k.str()};
      if (key == "name") {
        if (auto* s = v.as_string())
          out.name = s->get();
        else
          rep_.at(v.source(), "pipeline: option 'name': expected a string, "
                              "got "
                                  + type_name(v));
      } else if (key == "threads") {
        auto* i = v.as_integer();
        if (i == nullptr || i->get() < 0 || i->get() > 1024)
          rep_.at(v.source(), "pipeline: option 'threads': expected an "
                              "integer from 0 to 1024");
        else
          out.threads = static_cast<size_t>(i->get());
      } else {
        rep_.at(k.source(),
                "pipeline: unknown option '" + key + "'"
                    + did_you_mean(nearest_name(key, {"name", "threads"})));
      }
    }
  }
}

std::vector<const toml::table*> parser::tables(const toml::table& doc,
                                               const char* key, bool required) {
  std::vector<const toml::table*> xs;
  auto* n = doc.get(key);
  if (n == nullptr) {
    if (required)
      rep_.at(doc.source(), std::string{"missing ["} + key + "] table (a " + key
                                + " is required)");
    return xs;
  }
  if (auto* t = n->as_table()) {
    xs.push_back(t);
  } else if (auto* a = n->as_array()) {
    for (auto& e : *a) {
      if (auto* t = e.as_table())
        xs.push_back(t);
      else
        rep_.at(e.source(), std::string{"'"} + key + "': expected tables ([["
                                + key + "]]), got " + type_name(e));
    }
    if (xs.empty() && required && a->empty())
      rep_.at(n->source(), std::string{"'"} + key + "' is empty");
  } else {
    rep_.at(n->source(), std::string{"'"} + key + "': expected a table, got "
                             + type_name(*n));
  }
  return xs;
}

void parser::read_piece(const toml::table& tbl, role r, size_t index) {
  draft d;
  d.tbl = &tbl;
  d.p.role = r;
  auto who = std::string{to_string(r)};
  auto* kind = tbl.get("kind");
  if (kind == nullptr || !kind->is_string()) {
    rep_.at(kind ? kind->source() : tbl.source(),
            who + " #" + std::to_string(index + 1)
                + (kind ? ": option 'kind': expected a string, got "
                              + type_name(*kind)
                        : ": missing option 'kind' (a string naming a " + who
                              + " kind)"));
  } else {
    d.p.kind = kind->as_string()->get();
    d.entry = reg_.lookup(r, d.p.kind);
    if (d.entry == nullptr) {
      std::string known;
      for (auto& k : reg_.kinds())
        if (k.role == r)
          known += (known.empty() ? "" : ", ") + k.name;
      rep_.at(kind->source(), "unknown " + who + " kind '" + d.p.kind + "'"
                                  + did_you_mean(reg_.nearest(r, d.p.kind))
                                  + "; known: " + known);
    }
  }
  d.p.name = d.p.kind.empty() ? who + std::to_string(index + 1) : d.p.kind;
  if (auto* n = tbl.get("name")) {
    d.name_node = n;
    if (auto* s = n->as_string(); s != nullptr && !s->get().empty())
      d.p.name = s->get();
    else
      rep_.at(n->source(), who + " '" + d.p.name
                               + "': option 'name': expected a non-empty "
                                 "string, got "
                               + type_name(*n));
  }
  if (auto* prev = find(d.p.name)) {
    rep_.at(d.name_node ? d.name_node->source() : tbl.source(),
            who + " '" + d.p.name + "': the name is taken (line "
                + std::to_string(prev->tbl->source().begin.line)
                + "); give it a unique 'name'");
  }
  if (auto* in = tbl.get("input")) {
    d.input_node = in;
    d.explicit_input = true;
    if (r == role::source)
      rep_.at(in->source(), "source '" + d.p.name
                                + "': a source takes no "
                                  "'input'");
    if (auto* s = in->as_string()) {
      d.p.inputs.push_back(s->get());
    } else if (auto* a = in->as_array()) {
      for (auto& e : *a) {
        if (auto* s = e.as_string())
          d.p.inputs.push_back(s->get());
        else
          rep_.at(e.source(), who + " '" + d.p.name
                                  + "': option 'input': expected strings, got "
                                  + type_name(e));
      }
    } else {
      rep_.at(in->source(), who + " '" + d.p.name
                                + "': option 'input': expected a string or an "
                                  "array of strings, got "
                                + type_name(*in));
    }
  }
  drafts_.push_back(std::move(d));
}

std::optional<plan> parser::run(const toml::table& doc) {
  plan out;
  read_header(doc, out);
  auto sources = tables(doc, "source", true);
  auto stages = tables(doc, "stage", false);
  auto sinks = tables(doc, "sink", true);
  if (sinks.size() > 1)
    rep_.at(sinks[1]->source(), "only one sink is supported (found "
                                    + std::to_string(sinks.size()) + ")");
  for (size_t i = 0; i < sources.size(); ++i)
    read_piece(*sources[i], role::source, i);
  for (size_t i = 0; i < stages.size(); ++i)
    read_piece(*stages[i], role::stage, i);
  if (!sinks.empty())
    read_piece(*sinks[0], role::sink, 0);
  if (sources.empty() || sinks.empty())
    return std::nullopt;
  check_edges();
  build_parts();
  if (!rep_.errors.empty())
    return std::nullopt;
  for (auto& d : drafts_) {
    if (d.p.role == role::source)
      out.sources.push_back(std::move(d.p));
    else if (d.p.role == role::sink)
      out.sink = std::move(d.p);
  }
  for (auto i : chain_)
    out.stages.push_back(std::move(drafts_[i].p));
  return out;
}

} // namespace coactor::spec::internal

namespace coactor::spec {

std::string diagnostic::to_string() const {
  return file + ':' + std::to_string(line) + ':' + std::to_string(column) + ": "
         + message;
}

parse_result parse(const std::string& text, const std::string& file,
                   const registry& reg, const variables& vars) {
  reporter rep;
  rep.file = file;
  try {
    auto doc = toml::parse(text, file);
    internal::parser p{reg, vars, rep};
    auto out = p.run(doc);
    if (out && rep.errors.empty()) {
      out->file = file;
      return {std::move(*out)};
    }
  } catch (const toml::parse_error& err) {
    rep.at(err.source(), "invalid TOML: " + std::string{err.description()});
  } catch (const std::exception& ex) {
    // A factory or toml++ failing unexpectedly: still a located answer.
    rep.errors.push_back({file, 0, 0, ex.what()});
  }
  if (rep.errors.empty())
    rep.errors.push_back({file, 0, 0, "invalid spec"});
  std::stable_sort(rep.errors.begin(), rep.errors.end(),
                   [](const diagnostic& a, const diagnostic& b) {
                     return a.line != b.line ? a.line < b.line
                                             : a.column < b.column;
                   });
  return {std::move(rep.errors)};
}

parse_result load(const std::string& path, const registry& reg,
                  const variables& vars) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return {std::vector<diagnostic>{{path, 0, 0, "cannot read the file"}}};
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path, reg, vars);
}

} // namespace coactor::spec
