// Malformed specs: deterministic mutations of the example specs (truncated,
// random bytes, wrong types, swapped and dropped lines) must each parse to a
// plan or to located errors, never a crash, a hang or an escaping exception.
#include <fstream>
#include <random>
#include <sstream>

#include <catch2/catch.hpp>

#include "spec/spec_support.hpp"

using namespace coactor;
using namespace coactor::testing;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> xs;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    xs.push_back(line);
  return xs;
}

std::string joined(const std::vector<std::string>& xs) {
  std::string out;
  for (auto& x : xs)
    out += x + '\n';
  return out;
}

const char* wrong_values[]
    = {"42",        "-1",   "0",   "\"\"",    "\"${UNSET}\"", "[1, 2]",
       "{ a = 1 }", "true", "3.5", "\"fil\"", "\"${INPUT\"",  "1979-05-27"};

std::string mutate(const std::string& text, std::mt19937& rng, int kind) {
  auto pick = [&](size_t n) {
    return n == 0 ? size_t{0}
                  : std::uniform_int_distribution<size_t>{0, n - 1}(rng);
  };
  auto lines = lines_of(text);
  switch (kind) {
    case 0: // truncated anywhere
      return text.substr(0, pick(text.size() + 1));
    case 1: { // random bytes overwritten
      auto s = text;
      for (int i = 0, n = 1 + static_cast<int>(pick(4)); i < n; ++i)
        s[pick(s.size())] = static_cast<char>(pick(256));
      return s;
    }
    case 2: { // a value replaced by one of another type
      auto& line = lines[pick(lines.size())];
      if (auto eq = line.find(" = "); eq != std::string::npos)
        line = line.substr(0, eq + 3)
               + wrong_values[pick(std::size(wrong_values))];
      return joined(lines);
    }
    case 3: // two lines swapped
      std::swap(lines[pick(lines.size())], lines[pick(lines.size())]);
      return joined(lines);
    case 4: // a line dropped
      lines.erase(lines.begin() + static_cast<ptrdiff_t>(pick(lines.size())));
      return joined(lines);
    case 5: { // a line duplicated elsewhere
      auto l = lines[pick(lines.size())];
      lines.insert(lines.begin() + static_cast<ptrdiff_t>(pick(lines.size())),
                   l);
      return joined(lines);
    }
    default: { // keys swapped between two lines
      auto& a = lines[pick(lines.size())];
      auto& b = lines[pick(lines.size())];
      auto ea = a.find(" = ");
      auto eb = b.find(" = ");
      if (ea != std::string::npos && eb != std::string::npos) {
        auto ka = a.substr(0, ea);
        a = b.substr(0, eb) + a.substr(ea);
        b = ka + b.substr(eb);
      }
      return joined(lines);
    }
  }
}

} // namespace

TEST_CASE("2,400 mutated example specs each parse to a plan or to located "
          "errors",
          "[spec]") {
  std::string dir = COACTOR_SOURCE_DIR "/examples/specs/";
  std::vector<std::string> bases{read_file(dir + "word_count.toml"),
                                 read_file(dir + "demo.toml")};
  auto reg = spec::registry::with_catalog();
  std::map<std::string, std::string> vars{
      {"INPUT", COACTOR_SOURCE_DIR "/examples/pipelines/data/sample.txt"}};
  for (auto& b : bases) {
    auto r = parse_text(b, reg, vars);
    INFO(errors_of(r));
    REQUIRE(r.ok()); // the unmutated examples are valid
  }
  std::mt19937 rng{20261207};
  int valid = 0;
  int invalid = 0;
  constexpr int rounds = 2400;
  for (int i = 0; i < rounds; ++i) {
    auto text
        = mutate(bases[static_cast<size_t>(i) % bases.size()], rng, i % 7);
    spec::parse_result r{std::vector<spec::diagnostic>{}};
    REQUIRE_NOTHROW(r = parse_text(text, reg, vars));
    if (r.ok()) {
      ++valid;
      continue;
    }
    ++invalid;
    REQUIRE_FALSE(r.errors().empty());
    for (auto& d : r.errors()) {
      INFO("mutation " << i << ":\n" << text << "\n-> " << d.to_string());
      REQUIRE(d.file == "t.toml");
      REQUIRE(d.line >= 1);
      REQUIRE(d.column >= 1);
      REQUIRE_FALSE(d.message.empty());
    }
  }
  CHECK(valid + invalid == rounds);
  CHECK(invalid > rounds / 2); // the mutations do break most specs
}
