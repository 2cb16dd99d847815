// Private: the state behind coactor::spec::options (a toml++ table, the
// keys read so far, the diagnostics collected) and `${VAR}` substitution.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "coactor/spec/plan.hpp"
#include "coactor/spec/registry.hpp"

namespace coactor::spec {

/// Collects located diagnostics for one file.
struct reporter {
  std::string file;
  std::vector<diagnostic> errors;

  void at(const toml::source_region& where, std::string message) {
    errors.push_back(
        {file, where.begin.line, where.begin.column, std::move(message)});
  }
};

/// Resolves `${NAME}` in `text`; returns nullopt (with `problem` set) when a
/// variable is not set or a `${` is not closed.
using var_lookup
    = std::function<std::optional<std::string>(const std::string&)>;
std::optional<std::string> substitute(const std::string& text,
                                      const var_lookup& vars,
                                      std::string& problem);

/// Returns the name of a TOML node's type ("string", "integer", ...).
std::string type_name(const toml::node& n);

class options::impl {
 public:
  impl(const toml::table& tbl, std::string name, role r, item_kind input,
       reporter& rep, const var_lookup& vars)
      : tbl(tbl), name(std::move(name)), r(r), input(input), rep(rep),
        vars(vars) {}

  const toml::table& tbl;
  std::string name;
  role r;
  item_kind input;
  reporter& rep;
  const var_lookup& vars;
  std::set<std::string> read;
  std::map<std::string, std::string> settings;

  /// Prefix of every message about this piece: "stage 'words'".
  [[nodiscard]] std::string who() const;
  void error_at(const toml::node* n, const std::string& message);
  /// Returns the node at `key` (marking it read), or null.
  const toml::node* get(const std::string& key);
  /// Records "option 'key': expected <what>, got <type>".
  void wrong_type(const std::string& key, const toml::node& n,
                  const char* what);
};

} // namespace coactor::spec
