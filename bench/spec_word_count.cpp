// Word count three ways in the same run (issue 14): the word-count spec
// (examples/specs/word_count.toml's pipeline, counting sink) through
// coactor::spec, the same pipeline written with the typed C++ builder, and
// `tr | tr | sort | uniq -c`. Prints each time and the ratios. Usage:
// bench_spec_word_count [MB] (default 100; the text is the word-count
// sample repeated).
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <unordered_map>

#include <coactor/actors/pipeline.hpp>
#include <coactor/error.hpp>
#include <coactor/node.hpp>
#include <coactor/spec/plan.hpp>

using namespace coactor;
using clock_type = std::chrono::steady_clock;

namespace {

std::vector<std::string> lower_words(const std::string& line) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size()
           && !std::isalnum(static_cast<unsigned char>(line[i])))
      ++i;
    size_t j = i;
    while (j < line.size() && std::isalnum(static_cast<unsigned char>(line[j])))
      ++j;
    if (j > i) {
      std::string w = line.substr(i, j - i);
      for (auto& c : w)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      words.push_back(std::move(w));
    }
    i = j;
  }
  return words;
}

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

} // namespace

int main(int argc, char** argv) {
  size_t mb = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100;
  std::ifstream sample{COACTOR_WORD_COUNT_SAMPLE};
  std::stringstream ss;
  ss << sample.rdbuf();
  auto chunk = ss.str();
  auto path = "/tmp/coactor_bench_wc_" + std::to_string(::getpid()) + ".txt";
  {
    std::ofstream out{path};
    for (size_t n = 0; n < mb * 1024 * 1024; n += chunk.size())
      out << chunk;
  }
  node_options opts;
  opts.threads = 2;
  opts.log_level = log::level::warn;
  auto n = node::create(opts);
  if (!n) {
    std::cerr << describe(n.error()) << '\n';
    return 1;
  }
  std::string text = "[[source]]\nkind = \"file\"\npath = \"" + path
                     + "\"\n[[stage]]\nkind = \"split_words\"\n[[stage]]\n"
                       "kind = \"lowercase\"\n[[stage]]\nkind = "
                       "\"count_by_key\"\nparallel = 2\nroute = \"by_key\"\n"
                       "[sink]\nkind = \"counter\"\n";
  auto parsed = spec::parse(text, "bench.toml", spec::registry::with_catalog());
  if (!parsed.ok()) {
    std::cerr << parsed.errors()[0].to_string() << '\n';
    return 1;
  }
  auto t0 = clock_type::now();
  auto s = spec::build(*n, parsed.get()).run();
  auto spec_s = seconds_since(t0);
  // The typed pipeline: lines -> lowercase words -> per-copy counts.
  t0 = clock_type::now();
  auto c
      = actors::pipeline(*n)
            .from(actors::from_lines(path))
            .via(actors::flat_map(lower_words))
            .to(actors::for_each(
                    [counts = std::unordered_map<std::string, uint64_t>{}](
                        std::string& w) mutable { ++counts[w]; }),
                actors::partition_by(2, [](const std::string& w) { return w; }))
            .run();
  auto cpp_s = seconds_since(t0);
  t0 = clock_type::now();
  auto cmd = "tr -cs 'A-Za-z0-9' '\\n' < " + path
             + " | tr 'A-Z' 'a-z' | sort | uniq -c > /dev/null";
  auto rc = std::system(cmd.c_str());
  auto sh_s = seconds_since(t0);
  std::remove(path.c_str());
  if (!s || !c || rc != 0) {
    std::cerr << "a run failed\n";
    return 1;
  }
  std::printf("word count of %zu MB (%llu words), 2 threads\n", mb,
              static_cast<unsigned long long>(c->consumed));
  std::printf("  coactor spec  %7.2f s\n  C++ pipeline  %7.2f s\n"
              "  tr|sort|uniq  %7.2f s\n",
              spec_s, cpp_s, sh_s);
  std::printf("  spec throughput / C++ pipeline: %.2fx (goal >= 0.9x)\n",
              cpp_s / spec_s);
  std::printf("  spec throughput / shell pipe:   %.2fx (goal > 1x)\n",
              sh_s / spec_s);
  return n->stop().clean() ? 0 : 1;
}
