#include "coactor/spec/registry.hpp"

#include <algorithm>

#include <catch2/catch.hpp>

#include "spec/spec_support.hpp"

using namespace coactor;
using namespace coactor::testing;

TEST_CASE("edit distance counts insertions, deletions and substitutions",
          "[spec]") {
  CHECK(spec::edit_distance("file", "file") == 0);
  CHECK(spec::edit_distance("fil", "file") == 1);
  CHECK(spec::edit_distance("flie", "file") == 2);
  CHECK(spec::edit_distance("", "abc") == 3);
  CHECK(spec::edit_distance("kitten", "sitting") == 3);
}

TEST_CASE("the catalog holds every documented kind by role", "[spec]") {
  auto r = spec::registry::with_catalog();
  for (auto* k : {"numbers", "file", "directory", "stdin", "timer"})
    CHECK(r.find(spec::role::source, k) != nullptr);
  for (auto* k : {"map", "filter", "split_words", "lowercase", "json_field",
                  "batch", "count_by_key", "dedupe", "buffer", "rate_limit"})
    CHECK(r.find(spec::role::stage, k) != nullptr);
  for (auto* k : {"stdout", "file", "jsonl", "counter"})
    CHECK(r.find(spec::role::sink, k) != nullptr);
  CHECK(r.find(spec::role::stage, "numbers") == nullptr);
}

TEST_CASE("nearest suggests a close name of the same role and nothing for "
          "a far one",
          "[spec]") {
  auto r = spec::registry::with_catalog();
  CHECK(r.nearest(spec::role::stage, "split_word") == "split_words");
  CHECK(r.nearest(spec::role::stage, "fliter") == "filter");
  CHECK(r.nearest(spec::role::source, "fil") == "file");
  CHECK(r.nearest(spec::role::stage, "completely_different_thing").empty());
}

TEST_CASE("a user-registered stage kind runs from a spec", "[spec]") {
  auto into = std::make_shared<collected>();
  auto reg = test_registry(into);
  reg.add_stage("reverse", spec::item_kind::text, "reverses each item",
                [](spec::options& opts) {
                  auto suffix = opts.string("suffix", "");
                  spec::stage_part s;
                  s.make = [suffix] {
                    spec::transform t;
                    t.on_batch = [suffix](std::vector<spec::item>& in,
                                          std::vector<spec::item>& out) {
                      for (auto& x : in)
                        out.emplace_back(std::string(x.rbegin(), x.rend())
                                         + suffix);
                      return caf::error{};
                    };
                    return t;
                  };
                  return s;
                });
  auto r = parse_text(R"([[source]]
kind = "numbers"
from = 10
to = 13
[[stage]]
kind = "reverse"
suffix = "!"
[sink]
kind = "collect"
)",
                      reg);
  INFO(errors_of(r));
  REQUIRE(r.ok());
  node_options opts;
  opts.threads = 2;
  auto n = node::create(opts);
  REQUIRE(n);
  auto s = spec::build(*n, r.get()).run();
  REQUIRE(s);
  n->stop();
  auto items = into->items;
  std::sort(items.begin(), items.end());
  CHECK(items == std::vector<std::string>{"01!", "11!", "21!"});
}
