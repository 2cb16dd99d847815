// coactor::spec::registry: the named source, stage and sink kinds that
// pipeline spec files (and user binaries) build pipelines from.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/timespan.hpp>

#include "coactor/actors/producer.hpp"

namespace coactor::spec {

/// The one item type of a spec pipeline: every item is a `std::string` (a
/// line of text, a JSON document, a decimal number). One type keeps the
/// stages freely composable at no per-item cost beyond the string itself;
/// the declared `item_kind` says what the string holds, for the type check.
using item = std::string;

/// What the items on an edge hold, checked between stages before a run.
enum class item_kind : uint8_t {
  /// Any text (numbers and JSON documents are text too).
  text,
  /// One JSON document per item.
  json,
  /// A decimal number per item.
  number,
};

/// Returns "text", "json" or "number".
[[nodiscard]] std::string_view to_string(item_kind x) noexcept;

/// Returns whether a stage taking `wanted` accepts items of kind `got`.
[[nodiscard]] bool accepts(item_kind wanted, item_kind got) noexcept;

/// Where a piece sits in a pipeline.
enum class role : uint8_t { source, stage, sink };

/// Returns "source", "stage" or "sink".
[[nodiscard]] std::string_view to_string(role x) noexcept;

/// The options table of one source, stage or sink in a spec, as a factory
/// sees it. Getters return the value or the default; a value of the wrong
/// type, or a missing required key, records a located error
/// (`file:line:col: <role> '<name>': option '<key>' ...`) and returns the
/// default, so a factory reads all its options and need not stop early.
/// Every key a factory does not read is reported as unknown. Not
/// thread-safe; valid only during the factory call.
class options {
 public:
  class impl;
  explicit options(impl& x) : impl_(&x) {}

  /// Returns the name of the piece ("words").
  [[nodiscard]] const std::string& name() const;

  /// Returns the kind of the items the piece receives (text for sources).
  [[nodiscard]] item_kind input() const;

  [[nodiscard]] bool has(const std::string& key) const;
  std::string string(const std::string& key, std::string fallback = {});
  /// Returns the string at `key`, recording an error when it is missing.
  std::string required_string(const std::string& key);
  int64_t integer(const std::string& key, int64_t fallback = 0);
  /// Returns the integer at `key`, recording an error below `min`.
  int64_t integer_at_least(const std::string& key, int64_t fallback,
                           int64_t min);
  double number(const std::string& key, double fallback = 0);
  bool boolean(const std::string& key, bool fallback = false);
  /// Returns the string at `key` if it is one of `choices` (else records an
  /// error naming them, and returns `choices.front()`).
  std::string choice(const std::string& key,
                     const std::vector<std::string>& choices);

  /// Records an error located at `key`'s value (or at the piece's table when
  /// `key` is absent), prefixed with the piece ("stage 'words': ").
  void error(const std::string& key, const std::string& message);

 private:
  impl* impl_;
};

/// A source kind's result: the producer and what its items hold.
struct source_part {
  actors::producer<item> producer;
  item_kind output = item_kind::text;
  /// Optional: how far the source got, from 0 to 1, given the items it has
  /// produced (nullopt: not known yet), for the ETA of progress lines.
  /// Called from any thread while the pipeline runs.
  std::function<std::optional<double>(uint64_t produced)> done;
};

/// One copy of a stage: turns a batch into outputs (`in` may be moved
/// from); `flush` (optional) emits what it holds back, every `window` when
/// non-zero and at the end of the stream. Runs inside the copy's actor,
/// never concurrently with itself. An error returned or an exception thrown
/// fails the stage (`errc::stage_failed`, naming it).
struct transform {
  std::function<caf::error(std::vector<item>& in, std::vector<item>& out)>
      on_batch;
  std::function<void(std::vector<item>& out)> flush;
  caf::timespan window{0};
  /// A paced stage (rate_limit) returns how many items it still holds back
  /// after a flush: they count against the stage's capacity, `flush` runs
  /// again every `window` while it holds any, and the stage ends only after
  /// them. Optional.
  std::function<size_t()> pending;
};

/// A stage kind's result.
struct stage_part {
  /// Called once per parallel copy, in the copy's actor.
  std::function<transform()> make;
  item_kind output = item_kind::text;
  /// Buffers report their fill in progress lines.
  bool is_buffer = false;
};

/// Consumes one batch; an error fails the sink.
using sink_fn = std::function<caf::error(std::vector<item>& items)>;

/// A sink kind's result.
struct sink_part {
  /// Called once per parallel copy, in the copy's actor; may throw to fail
  /// the sink (e.g. a file that cannot be opened).
  std::function<sink_fn()> make;
  /// Kinds whose copies would share one output (stdout, a file) allow one.
  bool single_copy = false;
};

/// Builds a part from its options; errors go to `opts`.
template <class Part>
using factory = std::function<Part(options& opts)>;

/// A registered kind.
struct kind_info {
  std::string name;
  spec::role role = spec::role::stage;
  /// What it takes (stages and sinks).
  item_kind input = item_kind::text;
  /// One line for `--help`-style listings and docs.
  std::string summary;
};

/// The named kinds a spec may use. Copyable value; not thread-safe while
/// being modified, safe to share read-only.
class registry {
 public:
  /// Returns an empty registry.
  registry() = default;

  /// Returns a registry holding coactor's catalog (docs/specs.md).
  static registry with_catalog();

  /// Adds or replaces a source kind.
  void add_source(std::string name, std::string summary,
                  factory<source_part> make);
  /// Adds or replaces a stage kind taking items of kind `input`.
  void add_stage(std::string name, item_kind input, std::string summary,
                 factory<stage_part> make);
  /// Adds or replaces a sink kind taking items of kind `input`.
  void add_sink(std::string name, item_kind input, std::string summary,
                factory<sink_part> make);

  /// Returns the kind named `name` with role `r`, or null.
  [[nodiscard]] const kind_info* find(role r, const std::string& name) const;

  /// Returns the registered name of role `r` nearest to `name` (edit
  /// distance), or an empty string when none is close.
  [[nodiscard]] std::string nearest(role r, const std::string& name) const;

  /// Returns every kind, by role and name.
  [[nodiscard]] std::vector<kind_info> kinds() const;

  /// @private
  struct entry {
    kind_info info;
    factory<source_part> source;
    factory<stage_part> stage;
    factory<sink_part> sink;
  };
  /// @private
  [[nodiscard]] const entry* lookup(role r, const std::string& name) const;

 private:
  std::map<std::pair<role, std::string>, entry> entries_;
};

/// Adds the catalog's sources (numbers, file, directory, stdin, timer) to
/// `r`.
void add_catalog_sources(registry& r);
/// Adds the catalog's stages to `r`.
void add_catalog_stages(registry& r);
/// Adds the catalog's sinks (stdout, file, jsonl, counter) to `r`.
void add_catalog_sinks(registry& r);

/// Returns the Levenshtein distance between `a` and `b`.
[[nodiscard]] size_t edit_distance(std::string_view a, std::string_view b);

/// Returns the name in `names` nearest to `x` (edit distance), or an empty
/// string when none is close enough for a typo to explain.
[[nodiscard]] std::string nearest_name(std::string_view x,
                                       const std::vector<std::string>& names);

} // namespace coactor::spec
