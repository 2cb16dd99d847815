// coactor::spec::plan: a pipeline spec file parsed and validated into a plan
// (sources → stages → sink) that can be printed, drawn or run on a node.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "coactor/actors/pipeline.hpp"
#include "coactor/node.hpp"
#include "coactor/spec/registry.hpp"

namespace coactor::spec {

/// A located problem in a spec: renders as `file:line:col: message`.
struct diagnostic {
  std::string file;
  uint32_t line = 0;
  uint32_t column = 0;
  std::string message;

  [[nodiscard]] std::string to_string() const;
};

/// One validated piece of a plan.
struct piece {
  std::string name;
  std::string kind;
  spec::role role = spec::role::stage;
  /// Names of the pieces it receives from (empty for sources).
  std::vector<std::string> inputs;
  item_kind input = item_kind::text;
  item_kind output = item_kind::text;
  size_t parallel = 1;
  /// "round_robin", "broadcast" or "by_key" (the item is the key).
  std::string route = "round_robin";
  size_t capacity = actors::default_stage_capacity;
  actors::overflow_policy overflow = actors::overflow_policy::backpressure;
  /// Stages and the sink: `restart = { intensity, period_ms }` (none by
  /// default: the first failure fails the run).
  actors::restart_policy restarts;
  /// The options as written (after `${VAR}` substitution), for printing.
  std::map<std::string, std::string> settings;
  source_part source;
  stage_part stage;
  sink_part sink;
};

/// A validated pipeline: sources (merged), then stages in order, then the
/// sink. Copyable; running it any number of times is fine.
struct plan {
  std::string file;
  std::string name;
  /// `[pipeline] threads`, 0 when not given.
  size_t threads = 0;
  std::vector<piece> sources;
  std::vector<piece> stages;
  piece sink;

  /// Renders the plan as readable lines (`coactor run --dry-run`).
  [[nodiscard]] std::string to_string() const;

  /// Renders the plan as a Graphviz DOT digraph.
  [[nodiscard]] std::string to_dot() const;
};

/// What parsing returns: a plan, or every problem found (at least one).
struct parse_result {
  std::variant<plan, std::vector<diagnostic>> value;

  [[nodiscard]] bool ok() const noexcept { return value.index() == 0; }
  [[nodiscard]] const plan& get() const { return std::get<0>(value); }
  [[nodiscard]] const std::vector<diagnostic>& errors() const {
    return std::get<1>(value);
  }
};

/// Variables for `${NAME}` in string values: `set` first (`--set`), then
/// the environment, then the spec's `[vars]` table.
struct variables {
  std::map<std::string, std::string> set;
  bool use_environment = true;
};

/// Parses the spec text `text` (named `file` in errors) with the kinds of
/// `reg`. Never throws; every problem is a located diagnostic: TOML syntax,
/// wrong or missing keys, unknown kinds (with the nearest name), dangling
/// or cyclic edges, item-kind mismatches between pieces. Nothing runs.
/// Thread-safe for distinct calls.
[[nodiscard]] parse_result parse(const std::string& text,
                                 const std::string& file, const registry& reg,
                                 const variables& vars = {});

/// Reads and parses the spec file at `path` (a file that cannot be read is
/// a diagnostic at 0:0).
[[nodiscard]] parse_result load(const std::string& path, const registry& reg,
                                const variables& vars = {});

/// Returns the pipeline of `p` on `n` (nothing is spawned until `start` or
/// `run`). The node must outlive the runs.
[[nodiscard]] actors::runnable_pipeline build(coactor::node& n, const plan& p);

} // namespace coactor::spec
