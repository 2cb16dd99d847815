// Test support for coactor::spec: a registry with a collecting sink, and
// helpers that parse a spec text and run it on a threaded node.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "coactor/error.hpp"
#include "coactor/node.hpp"
#include "coactor/spec/plan.hpp"

namespace coactor::testing {

// A temporary file removed at the end of the test.
struct temp_file {
  std::string path;
  explicit temp_file(const std::string& text = "") {
    char name[] = "/tmp/coactor_spec_XXXXXX";
    int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    ::close(fd);
    path = name;
    std::ofstream{path} << text;
  }
  ~temp_file() { std::remove(path.c_str()); }
  std::string read() const {
    std::ifstream in{path};
    std::ostringstream os;
    os << in.rdbuf();
    return os.str();
  }
};

/// The items a `collect` sink received (from any copy).
struct collected {
  std::mutex mtx;
  std::vector<std::string> items;
};

/// The catalog plus a `collect` sink appending to `into`.
inline spec::registry test_registry(std::shared_ptr<collected> into) {
  auto r = spec::registry::with_catalog();
  r.add_sink("collect", spec::item_kind::text, "test sink",
             [into](spec::options&) {
               spec::sink_part s;
               s.make = [into]() -> spec::sink_fn {
                 return [into](std::vector<spec::item>& xs) -> caf::error {
                   std::lock_guard<std::mutex> guard{into->mtx};
                   for (auto& x : xs)
                     into->items.push_back(x);
                   return {};
                 };
               };
               return s;
             });
  return r;
}

/// Parses `text` without the environment (only `vars`).
inline spec::parse_result
parse_text(const std::string& text, const spec::registry& reg,
           std::map<std::string, std::string> vars = {}) {
  spec::variables v;
  v.set = std::move(vars);
  v.use_environment = false;
  return spec::parse(text, "t.toml", reg, v);
}

/// Returns every error of `r` on one line each (for failure messages).
inline std::string errors_of(const spec::parse_result& r) {
  std::string out;
  if (!r.ok())
    for (auto& d : r.errors())
      out += d.to_string() + '\n';
  return out;
}

/// A spec of `numbers` 0..2 → one stage `name` of `kind` with `options`
/// (TOML lines, each ending in a newline) → a `collect` sink: for checking
/// where a stage's option errors point.
inline std::string one_stage_spec(const std::string& name,
                                  const std::string& kind,
                                  const std::string& options) {
  return "[[source]]\nkind = \"numbers\"\nto = 3\n[[stage]]\nname = \"" + name
         + "\"\nkind = \"" + kind + "\"\n" + options
         + "[sink]\nkind = \"collect\"\n";
}

/// Returns the first error of parsing `text` whose message contains
/// `needle` (fails the test if there is none).
inline spec::diagnostic first_error(const std::string& text,
                                    const std::string& needle = "") {
  auto r = parse_text(text, test_registry(std::make_shared<collected>()));
  REQUIRE_FALSE(r.ok());
  for (auto& d : r.errors())
    if (d.message.find(needle) != std::string::npos)
      return d;
  INFO(errors_of(r));
  FAIL("no error containing '" << needle << "'");
  return {};
}

/// The outcome of running a spec: the summary and what `collect` got.
struct spec_run {
  caf::expected<actors::pipeline_summary> summary{caf::error{}};
  std::vector<std::string> items;
};

/// Parses `text` with `reg` and runs it on a two-thread node; requires a
/// valid spec. `into` is what `reg`'s sinks collect into.
inline spec_run run_with(const std::string& text, const spec::registry& reg,
                         const std::shared_ptr<collected>& into,
                         std::map<std::string, std::string> vars = {}) {
  auto r = parse_text(text, reg, std::move(vars));
  INFO(errors_of(r));
  REQUIRE(r.ok());
  node_options opts;
  opts.threads = 2;
  opts.log_level = log::level::warn;
  auto n = node::create(opts);
  REQUIRE(n);
  spec_run out;
  out.summary = spec::build(*n, r.get()).run();
  n->stop();
  std::lock_guard<std::mutex> guard{into->mtx};
  out.items = into->items;
  return out;
}

/// Parses and runs `text` on a two-thread node; requires a valid spec.
inline spec_run run_text(const std::string& text,
                         std::map<std::string, std::string> vars = {}) {
  auto into = std::make_shared<collected>();
  return run_with(text, test_registry(into), into, std::move(vars));
}

} // namespace coactor::testing
