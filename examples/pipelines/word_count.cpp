// Word count over a text file: lines → words (flat_map) → counting consumers
// partitioned by word, so each word is counted by exactly one actor.
#include <algorithm>
#include <cctype>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <coactor/actors/pipeline.hpp>
#include <coactor/error.hpp>
#include <coactor/node.hpp>

using namespace coactor;
using namespace coactor::actors;

namespace {

std::vector<std::string> words_of(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  for (char c : line + " ") {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  return words;
}

} // namespace

int main(int argc, char** argv) {
  std::string path = argc > 1 ? argv[1] : COACTOR_WORD_COUNT_SAMPLE;
  node_options opts;
  opts.name = "word-count";
  opts.threads = 2;
  opts.log_level = log::level::warn;
  auto node = node::create(opts);
  if (!node) {
    std::cerr << describe(node.error()) << '\n';
    return 1;
  }
  // Each word reaches one counter copy; the copies share the result table
  // only to hand it to main at the end.
  std::mutex mtx;
  std::map<std::string, int> counts;
  auto result = pipeline(*node)
                    .from(from_lines(path))
                    .via(flat_map(words_of))
                    .to(for_each([&](const std::string& w) {
                          std::lock_guard<std::mutex> guard{mtx};
                          ++counts[w];
                        }),
                        partition_by(3, [](const std::string& w) { return w; }))
                    .run();
  if (!result) {
    std::cerr << "word count failed: " << describe(result.error()) << '\n';
    return 1;
  }
  std::vector<std::pair<std::string, int>> top(counts.begin(), counts.end());
  std::stable_sort(top.begin(), top.end(),
                   [](auto& a, auto& b) { return a.second > b.second; });
  std::cout << "words: " << result->consumed << ", distinct: " << counts.size()
            << '\n';
  for (size_t i = 0; i < std::min<size_t>(5, top.size()); ++i)
    std::cout << "  " << top[i].first << ": " << top[i].second << '\n';
  return node->stop().clean() ? 0 : 1;
}
