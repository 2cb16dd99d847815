#include "coactor/spec/plan.hpp"

#include <catch2/catch.hpp>

#include "spec/spec_support.hpp"

using namespace coactor;
using namespace coactor::testing;
using Catch::Matchers::Contains;

namespace {

// A valid spec to break one line at a time (line numbers matter below).
const char* base = R"([[source]]
name = "nums"
kind = "numbers"
to = 10
[[stage]]
name = "keep"
kind = "filter"
pattern = "1"
[sink]
kind = "collect"
)";

// A file source reading `path` (on line 3, its value at column 8).
std::string file_spec(const std::string& path) {
  return "[[source]]\nkind = \"file\"\npath = \"" + path
         + "\"\n[sink]\nkind = \"collect\"\n";
}

} // namespace

TEST_CASE("a valid spec parses into sources, stages and a sink in order",
          "[spec]") {
  auto r = parse_text(base, test_registry(std::make_shared<collected>()));
  INFO(errors_of(r));
  REQUIRE(r.ok());
  auto& p = r.get();
  REQUIRE(p.sources.size() == 1);
  CHECK(p.sources[0].name == "nums");
  CHECK(p.sources[0].output == spec::item_kind::number);
  REQUIRE(p.stages.size() == 1);
  CHECK(p.stages[0].inputs == std::vector<std::string>{"nums"});
  CHECK(p.stages[0].output == spec::item_kind::number);
  CHECK(p.sink.inputs == std::vector<std::string>{"keep"});
  CHECK_THAT(p.to_string(), Contains("stage 'keep': filter"));
  CHECK_THAT(p.to_string(), Contains("pattern = \"1\""));
}

TEST_CASE("a TOML syntax error is located by toml++", "[spec]") {
  auto d = first_error("[[source]]\nkind = \"numbers\"\nto = \n");
  CHECK(d.file == "t.toml");
  CHECK(d.line == 3);
  CHECK(d.column >= 5);
  CHECK_THAT(d.to_string(), Contains("t.toml:3:"));
}

TEST_CASE("an unknown top-level key suggests the nearest", "[spec]") {
  auto d = first_error(std::string{base} + "[stgae]\nx = 1\n");
  CHECK(d.line == 11);
  CHECK(d.column == 2);
  CHECK_THAT(d.message, Contains("unknown key 'stgae'")
                            && Contains("did you mean 'stage'?"));
}

TEST_CASE("an unknown stage kind suggests the nearest name", "[spec]") {
  std::string text = base;
  text.replace(text.find("\"filter\""), 8, "\"fliter\"");
  auto d = first_error(text);
  CHECK(d.line == 7);
  CHECK(d.column == 8);
  CHECK_THAT(d.message, Contains("unknown stage kind 'fliter'")
                            && Contains("did you mean 'filter'?"));
}

TEST_CASE("a missing kind is reported at the piece's table", "[spec]") {
  std::string text = base;
  text.erase(text.find("kind = \"filter\"\n"), 16);
  auto d = first_error(text);
  CHECK(d.line == 5);
  CHECK(d.column == 1);
  CHECK_THAT(d.message, Contains("stage #1: missing option 'kind'"));
}

TEST_CASE("an option of the wrong type names the key and what was expected",
          "[spec]") {
  std::string text = base;
  text.replace(text.find("to = 10"), 7, "to = \"ten\"");
  auto d = first_error(text);
  CHECK(d.line == 4);
  CHECK(d.column == 6);
  CHECK(d.message
        == "source 'nums': option 'to': expected an integer, got a string");
}

TEST_CASE("a missing required option is reported at the table", "[spec]") {
  std::string text = base;
  text.erase(text.find("pattern = \"1\"\n"), 14);
  auto d = first_error(text);
  CHECK(d.line == 5);
  CHECK(d.column == 1);
  CHECK(d.message == "stage 'keep': missing option 'pattern' (a string)");
}

TEST_CASE("an unknown option suggests the nearest known one", "[spec]") {
  std::string text = base;
  text.replace(text.find("pattern"), 7, "patern");
  auto d = first_error(text, "unknown option");
  CHECK(d.line == 8);
  CHECK(d.column == 1);
  CHECK_THAT(d.message, Contains("stage 'keep': unknown option 'patern'")
                            && Contains("did you mean 'pattern'?"));
}

TEST_CASE("a dangling edge is reported at the input naming nothing", "[spec]") {
  std::string text = base;
  text.insert(text.find("pattern"), "input = \"numz\"\n");
  auto d = first_error(text, "names no source");
  CHECK(d.line == 8);
  CHECK(d.column == 9);
  CHECK_THAT(d.message, Contains("input 'numz' names no source or stage")
                            && Contains("did you mean 'nums'?"));
}

TEST_CASE("a cycle between stages is reported before anything runs", "[spec]") {
  auto d = first_error(R"([[source]]
kind = "numbers"
to = 3
[[stage]]
name = "a"
kind = "lowercase"
input = "b"
[[stage]]
name = "b"
kind = "lowercase"
input = "a"
[sink]
kind = "collect"
input = "b"
)");
  // The source then feeds nothing, and a <- b <- a is a cycle.
  auto all = parse_text(R"([[source]]
kind = "numbers"
to = 3
[[stage]]
name = "a"
kind = "lowercase"
input = ["numbers", "b"]
[[stage]]
name = "b"
kind = "lowercase"
input = "a"
[sink]
kind = "collect"
input = "b"
)",
                        test_registry(std::make_shared<collected>()));
  REQUIRE_FALSE(all.ok());
  bool found = false;
  for (auto& e : all.errors())
    if (e.message.find("cycle: ") != std::string::npos) {
      found = true;
      CHECK(e.line == 11);
      CHECK(e.column == 9);
      CHECK_THAT(e.message, Contains("a <- b <- a"));
    }
  CHECK(found);
  CHECK_THAT(d.message, Contains("feeds nothing"));
}

TEST_CASE("fan-out of one stage to two consumers is reported", "[spec]") {
  auto d = first_error(R"([[source]]
kind = "numbers"
to = 3
[[stage]]
name = "a"
kind = "lowercase"
[[stage]]
name = "b"
kind = "lowercase"
input = "numbers"
[sink]
kind = "collect"
input = "b"
)",
                       "fan-out");
  CHECK(d.line == 10);
  CHECK(d.column == 9);
  CHECK_THAT(d.message, Contains("fan-out: source 'numbers' feeds both 'a' "
                                 "and 'b'"));
}

TEST_CASE("an item-kind mismatch between stages is reported", "[spec]") {
  auto d = first_error(R"([[source]]
kind = "numbers"
to = 3
[[stage]]
name = "field"
kind = "json_field"
field = "a"
[sink]
kind = "collect"
)");
  CHECK(d.line == 4);
  CHECK(d.column == 1);
  CHECK(d.message
        == "stage 'field' (json_field) takes json items, but "
           "'numbers' emits number");
}

TEST_CASE("an unset variable is reported at the string using it", "[spec]") {
  auto d = first_error(file_spec("${NOPE}/x.txt"));
  CHECK(d.line == 3);
  CHECK(d.column == 8);
  CHECK_THAT(d.message, Contains("variable 'NOPE' is not set"));
}

TEST_CASE("variables given with --set win over the vars table", "[spec]") {
  auto text = std::string{R"([vars]
N = "5"
[[source]]
kind = "numbers"
to = "${N}"
[sink]
kind = "collect"
)"};
  auto reg = test_registry(std::make_shared<collected>());
  auto r = parse_text(text, reg);
  REQUIRE(r.ok());
  CHECK(r.get().sources[0].settings.at("to") == "5");
  auto s = parse_text(text, reg, {{"N", "7"}});
  REQUIRE(s.ok());
  CHECK(s.get().sources[0].settings.at("to") == "7");
  auto bad = parse_text(text, reg, {{"N", "seven"}});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.errors()[0].line == 5);
  CHECK_THAT(bad.errors()[0].message, Contains("expected an integer, got "
                                               "'seven'"));
}

TEST_CASE("an invalid regex is reported at the pattern", "[spec]") {
  std::string text = base;
  text.replace(text.find("\"1\""), 3, "\"(1\"");
  auto d = first_error(text);
  CHECK(d.line == 8);
  CHECK(d.column == 11);
  CHECK_THAT(d.message, Contains("option 'pattern': invalid regex"));
}

TEST_CASE("a duplicate name is reported at the second one", "[spec]") {
  std::string text = base;
  text.replace(text.find("\"keep\""), 6, "\"nums\"");
  auto d = first_error(text, "name is taken");
  CHECK(d.line == 6);
  CHECK(d.column == 8);
  CHECK_THAT(d.message, Contains("the name is taken (line 1)"));
}

TEST_CASE("a single-output sink refuses parallel copies", "[spec]") {
  auto d = first_error(R"([[source]]
kind = "numbers"
to = 3
[sink]
kind = "stdout"
parallel = 2
)");
  CHECK(d.line == 6);
  CHECK(d.column == 12);
  CHECK_THAT(d.message,
             Contains("option 'parallel'") && Contains("expected 1"));
}

TEST_CASE("a file source that cannot be opened fails validation", "[spec]") {
  auto d = first_error(file_spec("/nonexistent/coactor/input.txt"));
  CHECK(d.line == 3);
  CHECK(d.column == 8);
  CHECK_THAT(d.message, Contains("cannot open '/nonexistent/coactor/"
                                 "input.txt'"));
}

TEST_CASE("a value out of range names the minimum", "[spec]") {
  std::string text = base;
  text.insert(text.find("pattern"), "parallel = 0\n");
  auto d = first_error(text);
  CHECK(d.line == 8);
  CHECK(d.column == 12);
  CHECK(d.message
        == "stage 'keep': option 'parallel': expected an integer >= 1, got 0");
}

TEST_CASE("a spec without a sink says so", "[spec]") {
  auto d = first_error("[[source]]\nkind = \"numbers\"\nto = 1\n");
  CHECK_THAT(d.message, Contains("missing [sink] table"));
}

TEST_CASE("the DOT graph has a node per piece and an edge per input",
          "[spec]") {
  auto r = parse_text(base, test_registry(std::make_shared<collected>()));
  REQUIRE(r.ok());
  auto dot = r.get().to_dot();
  CHECK_THAT(dot, Contains("digraph"));
  CHECK_THAT(dot, Contains("\"nums\" -> \"keep\" [label=\"number\"]"));
  CHECK_THAT(dot, Contains("\"keep\" -> \"collect\" [label=\"number\"]"));
}
