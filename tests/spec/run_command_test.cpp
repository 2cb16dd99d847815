// `coactor run` and `coactor graph` as real processes: outputs, exit codes,
// progress lines when stderr is not a terminal, SIGINT.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <map>
#include <regex>

#include <catch2/catch.hpp>

#include "spec/spec_support.hpp"
#include "support/child_process.hpp"

using namespace coactor;
using namespace coactor::testing;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

#ifdef COACTOR_TOOL

namespace {

const std::string tool = COACTOR_TOOL;
const std::string source_dir = COACTOR_SOURCE_DIR;
const std::string sample = source_dir + "/examples/pipelines/data/sample.txt";

std::string quote(const std::string& x) {
  std::string out = "'";
  for (char c : x)
    out += c == '\'' ? std::string{"'\\''"} : std::string(1, c);
  return out + "'";
}

// Runs `sh -c script` with stderr merged into stdout; returns the output
// and the exit code (-1 when it did not exit within 60 s: it is killed).
std::pair<std::string, int> shell(const std::string& script) {
  auto child = child_process::start({"/bin/sh", "-c", script + " 2>&1"});
  REQUIRE(child);
  // Reads to the end of the output ("a^" never matches).
  child->wait_for_line(std::regex{"a^"}, 60s);
  auto status = child->wait_exit(10s);
  REQUIRE(status);
  return {child->output(), WIFEXITED(*status) ? WEXITSTATUS(*status) : -1};
}

std::string run_args(const std::string& args) {
  return "exec " + quote(tool) + " " + args;
}

std::map<std::string, int> count_words(const std::string& path) {
  std::ifstream in{path};
  std::map<std::string, int> counts;
  std::string word;
  for (char c; in.get(c);) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!word.empty()) {
      ++counts[word];
      word.clear();
    }
  }
  if (!word.empty())
    ++counts[word];
  return counts;
}

} // namespace

TEST_CASE("coactor run of the word-count example prints every word's count",
          "[spec][integration]") {
  auto [out, rc] = shell(
      run_args("run " + quote(source_dir + "/examples/specs/word_count.toml")
               + " --set INPUT=" + quote(sample)));
  CHECK(rc == 0);
  auto expected = count_words(sample);
  REQUIRE(expected.size() > 10);
  std::map<std::string, int> got;
  std::regex line{"^([a-z0-9]+)\t([0-9]+)$"};
  std::istringstream in{out};
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (std::regex_match(l, m, line))
      got[m[1]] = std::stoi(m[2]);
  }
  CHECK(got == expected);
  CHECK_THAT(out, Contains("summary:") && Contains("pipeline: "));
}

TEST_CASE("coactor run of the demo example consumes the odd numbers",
          "[spec][integration]") {
  auto [out, rc]
      = shell(run_args("run " + quote(source_dir + "/examples/specs/demo.toml")
                       + " --set COUNT=20001"));
  CHECK(rc == 0);
  int odd = 0;
  for (int i = 0; i < 20001; ++i)
    odd += i % 2;
  CHECK_THAT(out, Contains(" " + std::to_string(odd) + " consumed"));
  CHECK_THAT(out, Contains("buffer (buffer)"));
}

TEST_CASE("coactor run exits 2 with a located message on a spec error and "
          "runs nothing",
          "[spec][integration]") {
  temp_file spec{"[[source]]\nkind = \"fil\"\n[sink]\nkind = \"stdout\"\n"};
  auto [out, rc] = shell(run_args("run " + quote(spec.path)));
  CHECK(rc == 2);
  CHECK_THAT(out, Contains(spec.path
                           + ":2:8: unknown source kind 'fil' "
                             "(did you mean 'file'?)"));
  CHECK_THAT(out, !Contains("summary:"));
}

TEST_CASE("coactor run exits 1 when a stage fails at run time",
          "[spec][integration]") {
  temp_file data{"{\"b\": 1}\n"};
  temp_file spec{"[[source]]\nkind = \"file\"\nitems = \"json\"\npath = \""
                 + data.path
                 + "\"\n[[stage]]\nkind = \"json_field\"\nfield = \"a\"\n"
                   "on_missing = \"fail\"\n[sink]\nkind = \"stdout\"\n"};
  auto [out, rc] = shell(run_args("run " + quote(spec.path)));
  CHECK(rc == 1);
  CHECK_THAT(out, Contains("coactor run: failed:") && Contains("json_field")
                      && Contains("summary:"));
}

TEST_CASE("coactor run exits 1 naming restart_limit when a restarted stage "
          "keeps failing",
          "[spec][integration]") {
  temp_file data{"{\"a\": 1}\n{\"b\": 1}\n"};
  temp_file spec{"[[source]]\nkind = \"file\"\nitems = \"json\"\npath = \""
                 + data.path
                 + "\"\n[[stage]]\nname = \"pick\"\nkind = \"json_field\"\n"
                   "field = \"a\"\non_missing = \"fail\"\n"
                   "restart = { intensity = 2, period_ms = 60000 }\n"
                   "[sink]\nkind = \"stdout\"\n"};
  auto [out, rc] = shell(run_args("run " + quote(spec.path)));
  CHECK(rc == 1);
  CHECK_THAT(out, Contains("coactor run: failed: coactor::restart_limit")
                      && Contains("'pick'")
                      && Contains("failed more than 2 times")
                      && Contains("restarted 2 times"));
}

TEST_CASE("coactor run --dry-run prints the plan and runs nothing",
          "[spec][integration]") {
  temp_file out_file;
  temp_file spec{"[[source]]\nkind = \"numbers\"\nto = 5\n[sink]\nkind = "
                 "\"file\"\npath = \""
                 + out_file.path + "\"\n"};
  auto [out, rc] = shell(run_args("run --dry-run " + quote(spec.path)));
  CHECK(rc == 0);
  CHECK_THAT(out, Contains("source 'numbers': numbers, emits number")
                      && Contains("sink 'file': file"));
  CHECK(out_file.read().empty());
}

TEST_CASE("coactor run prints plain progress lines when stderr is not a "
          "terminal",
          "[spec][integration]") {
  temp_file spec{"[[source]]\nname = \"ticks\"\nkind = \"timer\"\n"
                 "period_ms = 10\ncount = 60\n[[stage]]\nname = \"buf\"\n"
                 "kind = \"buffer\"\ncapacity = 64\noverflow = "
                 "\"drop_oldest\"\n[sink]\nkind = \"counter\"\n"};
  auto [out, rc]
      = shell(run_args("run --progress-interval-ms 100 " + quote(spec.path)));
  CHECK(rc == 0);
  std::regex line{"^progress: [0-9.]+s produced [0-9]+, consumed [0-9]+, "
                  "dropped [0-9]+, buffers [0-9]+/64 \\| ticks [0-9]+ "
                  "\\([0-9.]+/s\\) \\| buf [0-9]+"};
  int lines = 0;
  std::istringstream in{out};
  for (std::string l; std::getline(in, l);) {
    CHECK(l.find('\r') == std::string::npos);
    lines += std::regex_search(l, line) ? 1 : 0;
  }
  CHECK(lines >= 2);
  CHECK_THAT(out, Contains("60 consumed"));
}

TEST_CASE("coactor run's progress lines end with an ETA when the source "
          "size is known",
          "[spec][integration]") {
  temp_file spec{"[[source]]\nkind = \"numbers\"\nto = 120\nrate = 100\n"
                 "[sink]\nkind = \"counter\"\n"};
  auto [out, rc]
      = shell(run_args("run --progress-interval-ms 100 " + quote(spec.path)));
  CHECK(rc == 0);
  std::regex line{"^progress: .* \\| eta [0-9.]+s$"};
  int lines = 0;
  std::istringstream in{out};
  for (std::string l; std::getline(in, l);)
    lines += std::regex_search(l, line) ? 1 : 0;
  CHECK(lines >= 2);
  CHECK_THAT(out, Contains("120 consumed"));
}

TEST_CASE("SIGINT cancels coactor run, which still prints the summary",
          "[spec][integration]") {
  temp_file spec{"[[source]]\nkind = \"timer\"\nperiod_ms = 5\n[[stage]]\n"
                 "kind = \"buffer\"\noverflow = \"drop_oldest\"\n[sink]\n"
                 "kind = \"counter\"\n"};
  auto child = child_process::start(
      {"/bin/sh", "-c",
       run_args("run --progress-interval-ms 100 " + quote(spec.path))
           + " 2>&1"});
  REQUIRE(child);
  REQUIRE(child->wait_for_line(std::regex{"^progress: "}, 20s));
  child->signal(SIGINT);
  child->wait_for_line(std::regex{"a^"}, 20s);
  auto status = child->wait_exit(10s);
  REQUIRE(status);
  REQUIRE(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 130);
  CHECK_THAT(child->output(), Contains("interrupted, pipeline cancelled")
                                  && Contains("summary:")
                                  && Contains("timer (producer)"));
}

TEST_CASE("the stdin source reads the lines piped in", "[spec][integration]") {
  temp_file spec{"[[source]]\nkind = \"stdin\"\n[[stage]]\nkind = "
                 "\"dedupe\"\n[sink]\nkind = \"stdout\"\n"};
  auto [out, rc] = shell("printf 'x\\ny\\nx\\nz\\n' | " + quote(tool)
                         + " run --progress off " + quote(spec.path));
  CHECK(rc == 0);
  CHECK(out.rfind("x\ny\nz\nsummary:", 0) == 0);
}

TEST_CASE("coactor graph prints DOT, and SVG through Graphviz",
          "[spec][integration]") {
  auto spec = quote(source_dir + "/examples/specs/word_count.toml")
              + " --set INPUT=" + quote(sample);
  auto [dot, rc] = shell(run_args("graph " + spec));
  CHECK(rc == 0);
  CHECK_THAT(dot, Contains("digraph \"word-count\"")
                      && Contains("\"lines\" -> \"words\" [label=\"text\"]")
                      && Contains("\"count\" -> \"out\""));
  if (::access("/usr/bin/dot", X_OK) == 0) {
    auto [svg, src] = shell(run_args("graph --format svg " + spec));
    CHECK(src == 0);
    CHECK_THAT(svg, Contains("<svg") && Contains("count_by_key"));
  } else {
    WARN("graphviz is not installed (scripts/dev deps installs it)");
  }
}

TEST_CASE("coactor graph --format svg without Graphviz says so and exits 1",
          "[spec][integration]") {
  auto [out, rc]
      = shell("PATH=/nonexistent "
              + run_args("graph --format svg "
                         + quote(source_dir + "/examples/specs/demo.toml")));
  CHECK(rc == 1);
  CHECK_THAT(out, Contains("needs Graphviz 'dot' in PATH"));
}

#endif
