// Private: the spec parser's state, shared by parse.cpp (tables and
// pieces) and parts.cpp (edges, kinds and item-kind checks).
#pragma once

#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "options_impl.hpp"

namespace coactor::spec::internal {

/// Returns " (did you mean 'best'?)", or "" for an empty `best`.
std::string did_you_mean(const std::string& best);

struct draft {
  const toml::table* tbl = nullptr;
  const toml::node* input_node = nullptr;
  const toml::node* name_node = nullptr;
  const registry::entry* entry = nullptr;
  piece p;
  bool explicit_input = false;
};

class parser {
 public:
  parser(const registry& reg, const variables& vars, reporter& rep)
      : reg_(reg), vars_(vars), rep_(rep) {
    lookup_ = [this](const std::string& n) -> std::optional<std::string> {
      if (auto i = vars_.set.find(n); i != vars_.set.end())
        return i->second;
      if (vars_.use_environment)
        if (const char* v = std::getenv(n.c_str()))
          return std::string{v};
      if (auto i = spec_vars_.find(n); i != spec_vars_.end())
        return i->second;
      return std::nullopt;
    };
  }

  std::optional<plan> run(const toml::table& doc);

 private:
  void read_header(const toml::table& doc, plan& out);
  std::vector<const toml::table*> tables(const toml::table& doc,
                                         const char* key, bool required);
  void read_piece(const toml::table& tbl, role r, size_t index);
  void check_edges();
  void build_parts();
  draft* find(const std::string& name);

  const registry& reg_;
  const variables& vars_;
  reporter& rep_;
  var_lookup lookup_;
  std::map<std::string, std::string> spec_vars_;
  std::vector<draft> drafts_; // sources, stages, sink: in file order
  std::vector<size_t> chain_; // stage indices from first to last
};

} // namespace coactor::spec::internal
