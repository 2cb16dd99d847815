// Every catalog kind, run as a spec on a threaded node.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "spec/spec_support.hpp"

using namespace coactor;
using namespace coactor::testing;

namespace {

std::vector<std::string> sorted(std::vector<std::string> xs) {
  std::sort(xs.begin(), xs.end());
  return xs;
}

std::string with(const std::string& source, const std::string& stages,
                 const std::string& sink = "[sink]\nkind = \"collect\"\n") {
  return source + stages + sink;
}

const std::string numbers_0_to_20
    = "[[source]]\nkind = \"numbers\"\nfrom = 0\nto = 20\n";

} // namespace

TEST_CASE("numbers emits from, from + step, ... below to", "[spec]") {
  auto r = run_text(with(
      "[[source]]\nkind = \"numbers\"\nfrom = 3\nto = 12\nstep = 4\n", ""));
  REQUIRE(r.summary);
  CHECK(r.items == std::vector<std::string>{"3", "7", "11"});
  CHECK(r.summary->produced == 3);
}

TEST_CASE("file emits the lines of the file in order", "[spec]") {
  temp_file f{"alpha\nbeta\ngamma\n"};
  auto r = run_text(with("[[source]]\nkind = \"file\"\npath = \"${F}\"\n", ""),
                    {{"F", f.path}});
  REQUIRE(r.summary);
  CHECK(r.items == std::vector<std::string>{"alpha", "beta", "gamma"});
}

TEST_CASE("timer emits count ticks and ends", "[spec]") {
  auto r = run_text(with("[[source]]\nkind = \"timer\"\nperiod_ms = 1\n"
                         "count = 5\n",
                         "[[stage]]\nkind = \"buffer\"\ncapacity = 16\n"
                         "overflow = \"drop_newest\"\n"));
  REQUIRE(r.summary);
  CHECK(r.items == std::vector<std::string>{"0", "1", "2", "3", "4"});
}

TEST_CASE("several sources are merged into the first stage", "[spec]") {
  auto r = run_text(
      with("[[source]]\nname = \"a\"\nkind = \"numbers\"\nto = 3\n"
           "[[source]]\nname = \"b\"\nkind = \"numbers\"\nfrom = 10\nto = 12\n",
           "[[stage]]\nkind = \"lowercase\"\n"));
  REQUIRE(r.summary);
  CHECK(sorted(r.items) == std::vector<std::string>{"0", "1", "10", "11", "2"});
}

TEST_CASE("map replaces every match of the pattern", "[spec]") {
  auto r = run_text(with(numbers_0_to_20, "[[stage]]\nkind = \"map\"\n"
                                          "pattern = \"1\"\nreplace = \"x\"\n"
                                          "[[stage]]\nkind = \"filter\"\n"
                                          "pattern = \"x\"\n"));
  REQUIRE(r.summary);
  CHECK(r.items
        == std::vector<std::string>{"x", "x0", "xx", "x2", "x3", "x4", "x5",
                                    "x6", "x7", "x8", "x9"});
}

TEST_CASE("filter keeps matching items, or the others when inverted",
          "[spec]") {
  auto keep = run_text(with(numbers_0_to_20,
                            "[[stage]]\nkind = \"filter\"\npattern = "
                            "\"^1.$\"\n"));
  REQUIRE(keep.summary);
  CHECK(keep.items.size() == 10);
  CHECK(keep.items.front() == "10");
  auto drop = run_text(with(numbers_0_to_20,
                            "[[stage]]\nkind = \"filter\"\npattern = "
                            "\"^1.$\"\ninvert = true\n"));
  REQUIRE(drop.summary);
  CHECK(drop.items.size() == 10);
  CHECK(drop.items.back() == "9");
}

TEST_CASE("split_words and lowercase turn lines into lowercase words",
          "[spec]") {
  temp_file f{"Hello, World!\n  a-b  42\n\n"};
  auto r = run_text(with("[[source]]\nkind = \"file\"\npath = \"${F}\"\n",
                         "[[stage]]\nkind = \"split_words\"\n"
                         "[[stage]]\nkind = \"lowercase\"\n"),
                    {{"F", f.path}});
  REQUIRE(r.summary);
  CHECK(r.items == std::vector<std::string>{"hello", "world", "a", "b", "42"});
}

TEST_CASE("json_field extracts nested fields and skips items without them",
          "[spec]") {
  temp_file f{
      "{\"a\":{\"b\":\"x\"}}\n{\"a\":{\"b\":7}}\n{\"c\":1}\nnot json\n"};
  auto r = run_text(with("[[source]]\nkind = \"file\"\nitems = \"json\"\n"
                         "path = \"${F}\"\n",
                         "[[stage]]\nkind = \"json_field\"\nfield = \"a.b\"\n"),
                    {{"F", f.path}});
  REQUIRE(r.summary);
  CHECK(r.items == std::vector<std::string>{"x", "7"});
}

TEST_CASE("json_field with on_missing = fail fails the run", "[spec]") {
  temp_file f{"{\"c\":1}\n"};
  auto r = run_text(with("[[source]]\nkind = \"file\"\nitems = \"json\"\n"
                         "path = \"${F}\"\n",
                         "[[stage]]\nkind = \"json_field\"\nfield = \"a\"\n"
                         "on_missing = \"fail\"\n"),
                    {{"F", f.path}});
  REQUIRE_FALSE(r.summary);
  CHECK(describe(r.summary.error()).find("json_field") != std::string::npos);
}

TEST_CASE("batch groups items into JSON arrays, the last one partial",
          "[spec]") {
  auto r = run_text(with("[[source]]\nkind = \"numbers\"\nto = 5\n",
                         "[[stage]]\nkind = \"batch\"\nsize = 2\n"));
  REQUIRE(r.summary);
  CHECK(r.items == std::vector<std::string>{"[0,1]", "[2,3]", "[4]"});
}

TEST_CASE("count_by_key counts equal items at the end of the stream, most "
          "frequent first",
          "[spec]") {
  temp_file f{"b\na\nb\nc\nb\na\n"};
  auto r = run_text(with("[[source]]\nkind = \"file\"\npath = \"${F}\"\n",
                         "[[stage]]\nkind = \"count_by_key\"\n"),
                    {{"F", f.path}});
  REQUIRE(r.summary);
  CHECK(r.items == std::vector<std::string>{"b\t3", "a\t2", "c\t1"});
  auto top = run_text(with("[[source]]\nkind = \"file\"\npath = \"${F}\"\n",
                           "[[stage]]\nkind = \"count_by_key\"\ntop = 1\n"
                           "format = \"json\"\n"),
                      {{"F", f.path}});
  REQUIRE(top.summary);
  REQUIRE(top.items.size() == 1);
  auto j = nlohmann::json::parse(top.items[0]);
  CHECK(j["key"] == "b");
  CHECK(j["count"] == 3);
}

TEST_CASE("count_by_key partitioned by key counts each key once overall",
          "[spec]") {
  auto r = run_text(with("[[source]]\nkind = \"numbers\"\nto = 1000\n",
                         "[[stage]]\nkind = \"map\"\npattern = \".*(.)$\"\n"
                         "replace = \"$1\"\n"
                         "[[stage]]\nkind = \"count_by_key\"\nparallel = 3\n"
                         "route = \"by_key\"\n"));
  REQUIRE(r.summary);
  std::map<std::string, std::string> counts;
  for (auto& x : r.items)
    counts[x.substr(0, x.find('\t'))] = x.substr(x.find('\t') + 1);
  REQUIRE(counts.size() == 10);
  for (auto& [k, n] : counts)
    CHECK(n == "100");
}

TEST_CASE("dedupe drops items seen before", "[spec]") {
  temp_file f{"a\nb\na\nc\nb\n"};
  auto r = run_text(with("[[source]]\nkind = \"file\"\npath = \"${F}\"\n",
                         "[[stage]]\nkind = \"dedupe\"\n"),
                    {{"F", f.path}});
  REQUIRE(r.summary);
  CHECK(r.items == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("buffer passes items through and reports its capacity", "[spec]") {
  auto r = run_text(with(numbers_0_to_20,
                         "[[stage]]\nname = \"buf\"\nkind = \"buffer\"\n"
                         "capacity = 8\n"));
  REQUIRE(r.summary);
  CHECK(r.items.size() == 20);
  auto* b = r.summary->stage("buf");
  REQUIRE(b != nullptr);
  CHECK(b->kind == "buffer");
  CHECK(b->capacity == 8);
  CHECK(b->high_water <= 8);
}

TEST_CASE("the file sink writes one line per item", "[spec]") {
  temp_file out;
  auto r = run_text(with("[[source]]\nkind = \"numbers\"\nto = 3\n", "",
                         "[sink]\nkind = \"file\"\npath = \"${OUT}\"\n"),
                    {{"OUT", out.path}});
  REQUIRE(r.summary);
  CHECK(out.read() == "0\n1\n2\n");
}

TEST_CASE("the jsonl sink writes JSON items as they are and text as strings",
          "[spec]") {
  temp_file out;
  auto r = run_text(with("[[source]]\nkind = \"numbers\"\nto = 3\n",
                         "[[stage]]\nkind = \"batch\"\nsize = 2\n",
                         "[sink]\nkind = \"jsonl\"\npath = \"${OUT}\"\n"),
                    {{"OUT", out.path}});
  REQUIRE(r.summary);
  CHECK(out.read() == "[0,1]\n[2]\n");
  temp_file text_out;
  temp_file in{"say \"hi\"\n"};
  auto t = run_text(with("[[source]]\nkind = \"file\"\npath = \"${IN}\"\n", "",
                         "[sink]\nkind = \"jsonl\"\npath = \"${OUT}\"\n"),
                    {{"OUT", text_out.path}, {"IN", in.path}});
  REQUIRE(t.summary);
  CHECK(text_out.read() == "\"say \\\"hi\\\"\"\n");
}

TEST_CASE("the counter sink counts every item in the summary", "[spec]") {
  auto r = run_text(with("[[source]]\nkind = \"numbers\"\nto = 12345\n", "",
                         "[sink]\nkind = \"counter\"\nparallel = 3\n"));
  REQUIRE(r.summary);
  CHECK(r.summary->consumed == 12345);
}

TEST_CASE("a source rate becomes one bounded step per tick", "[spec]") {
  auto reg = test_registry(std::make_shared<collected>());
  auto fast = parse_text("[[source]]\nkind = \"numbers\"\nto = 30\nrate = "
                         "2000\n[sink]\nkind = \"collect\"\n",
                         reg);
  INFO(errors_of(fast));
  REQUIRE(fast.ok());
  auto& po = fast.get().sources[0].source.producer.options;
  CHECK(po.period == std::chrono::milliseconds{10});
  CHECK(po.max_batch == 20);
  auto slow = parse_text("[[source]]\nkind = \"numbers\"\nto = 3\nrate = 50\n"
                         "[sink]\nkind = \"collect\"\n",
                         reg);
  REQUIRE(slow.ok());
  CHECK(slow.get().sources[0].source.producer.options.period
        == std::chrono::milliseconds{20});
  CHECK(slow.get().sources[0].source.producer.options.max_batch == 1);
  // And it still delivers every item.
  auto r = run_text("[[source]]\nkind = \"numbers\"\nto = 30\nrate = 3000\n"
                    "[sink]\nkind = \"collect\"\n");
  REQUIRE(r.summary);
  CHECK(r.items.size() == 30);
}
