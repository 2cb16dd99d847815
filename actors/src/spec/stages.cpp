// The catalog's stages: map, filter, split_words, lowercase, json_field,
// batch, count_by_key, dedupe, buffer, rate_limit.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <deque>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "coactor/error.hpp"
#include "coactor/spec/registry.hpp"

namespace coactor::spec {

namespace {

/// Makes a stage from a per-item step `f(item&, out)` (copied per copy).
template <class F>
stage_part per_item(item_kind output, F f) {
  stage_part s;
  s.output = output;
  s.make = [f] {
    transform t;
    t.on_batch = [f](std::vector<item>& in,
                     std::vector<item>& out) mutable -> caf::error {
      out.reserve(in.size());
      for (auto& x : in)
        if (auto err = f(x, out))
          return err;
      return {};
    };
    return t;
  };
  return s;
}

/// Reads and checks a regex option (compiled here once to report errors,
/// again per copy: std::regex is not safe to share between threads).
std::string regex_option(options& opts) {
  auto pattern = opts.required_string("pattern");
  try {
    std::regex check{pattern};
  } catch (const std::regex_error& ex) {
    opts.error("pattern",
               std::string{"option 'pattern': invalid regex: "} + ex.what());
  }
  return pattern;
}

std::regex compile(const std::string& pattern) {
  try {
    return std::regex{pattern};
  } catch (const std::regex_error&) {
    return std::regex{};
  }
}

stage_part map(options& opts) {
  auto pattern = regex_option(opts);
  auto replace = opts.string("replace", "");
  return per_item(opts.input(),
                  [re = std::make_shared<std::regex>(compile(pattern)),
                   replace](item& x, std::vector<item>& out) {
                    out.push_back(std::regex_replace(x, *re, replace));
                    return caf::error{};
                  });
}

stage_part filter(options& opts) {
  auto pattern = regex_option(opts);
  auto invert = opts.boolean("invert", false);
  auto in = opts.input();
  stage_part s;
  s.output = in;
  s.make = [pattern, invert] {
    transform t;
    t.on_batch = [re = compile(pattern), invert](std::vector<item>& xs,
                                                 std::vector<item>& out) {
      for (auto& x : xs)
        if (std::regex_search(x, re) != invert)
          out.push_back(std::move(x));
      return caf::error{};
    };
    return t;
  };
  return s;
}

stage_part split_words(options&) {
  return per_item(item_kind::text, [](item& x, std::vector<item>& out) {
    size_t i = 0;
    while (i < x.size()) {
      while (i < x.size() && !std::isalnum(static_cast<unsigned char>(x[i])))
        ++i;
      size_t j = i;
      while (j < x.size() && std::isalnum(static_cast<unsigned char>(x[j])))
        ++j;
      if (j > i)
        out.emplace_back(x, i, j - i);
      i = j;
    }
    return caf::error{};
  });
}

stage_part lowercase(options& opts) {
  return per_item(opts.input(), [](item& x, std::vector<item>& out) {
    for (auto& c : x)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.push_back(std::move(x));
    return caf::error{};
  });
}

stage_part json_field(options& opts) {
  auto field = opts.required_string("field");
  auto missing = opts.choice("on_missing", {"skip", "fail"});
  auto as_json = opts.choice("as", {"text", "json"}) == "json";
  std::vector<std::string> path;
  for (size_t i = 0, j; i <= field.size(); i = j + 1) {
    j = std::min(field.find('.', i), field.size());
    path.push_back(field.substr(i, j - i));
  }
  auto name = opts.name();
  return per_item(
      as_json ? item_kind::json : item_kind::text,
      [path, fail = missing == "fail", as_json,
       name](item& x, std::vector<item>& out) -> caf::error {
        auto doc = nlohmann::json::parse(x, nullptr, false);
        const nlohmann::json* v = &doc;
        for (auto& key : path) {
          if (v->is_discarded() || !v->is_object() || !v->contains(key)) {
            v = nullptr;
            break;
          }
          v = &(*v)[key];
        }
        if (v == nullptr) {
          if (fail)
            return make_error(errc::invalid_argument,
                              "no field in item '" + x.substr(0, 80) + "'");
          return {};
        }
        out.push_back(v->is_string() && !as_json ? v->get<std::string>()
                                                 : v->dump());
        return {};
      });
}

nlohmann::json to_json(item& x, item_kind k) {
  if (k != item_kind::text) {
    auto v = nlohmann::json::parse(x, nullptr, false);
    if (!v.is_discarded())
      return v;
  }
  return std::move(x);
}

stage_part batch(options& opts) {
  auto size = static_cast<size_t>(opts.integer_at_least("size", 100, 1));
  auto delay = opts.integer_at_least("max_delay_ms", 0, 0);
  stage_part s;
  s.output = item_kind::json;
  s.make = [size, delay, k = opts.input()] {
    auto held = std::make_shared<nlohmann::json>(nlohmann::json::array());
    transform t;
    t.on_batch
        = [size, k, held](std::vector<item>& in, std::vector<item>& out) {
            for (auto& x : in) {
              held->push_back(to_json(x, k));
              if (held->size() == size) {
                out.push_back(held->dump());
                *held = nlohmann::json::array();
              }
            }
            return caf::error{};
          };
    t.flush = [held](std::vector<item>& out) {
      if (!held->empty()) {
        out.push_back(held->dump());
        *held = nlohmann::json::array();
      }
    };
    t.window = std::chrono::milliseconds{delay};
    return t;
  };
  return s;
}

stage_part count_by_key(options& opts) {
  auto window = opts.integer_at_least("window_ms", 0, 0);
  auto json = opts.choice("format", {"text", "json"}) == "json";
  auto top = static_cast<size_t>(opts.integer_at_least("top", 0, 0));
  stage_part s;
  s.output = json ? item_kind::json : item_kind::text;
  s.make = [window, json, top] {
    auto counts = std::make_shared<std::unordered_map<item, uint64_t>>();
    transform t;
    t.on_batch = [counts](std::vector<item>& in, std::vector<item>&) {
      for (auto& x : in)
        ++(*counts)[std::move(x)];
      return caf::error{};
    };
    // Most frequent first, ties by key: the output is deterministic.
    t.flush = [counts, json, top](std::vector<item>& out) {
      std::vector<std::pair<item, uint64_t>> xs(counts->begin(), counts->end());
      counts->clear();
      std::sort(xs.begin(), xs.end(), [](auto& a, auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
      });
      if (top > 0 && xs.size() > top)
        xs.resize(top);
      for (auto& [k, n] : xs)
        out.push_back(json ? nlohmann::json{{"key", k}, {"count", n}}.dump()
                           : k + '\t' + std::to_string(n));
    };
    t.window = std::chrono::milliseconds{window};
    return t;
  };
  return s;
}

stage_part dedupe(options& opts) {
  auto max_keys
      = static_cast<size_t>(opts.integer_at_least("max_keys", 1'000'000, 1));
  stage_part s;
  s.output = opts.input();
  s.make = [max_keys] {
    auto seen = std::make_shared<std::unordered_set<item>>();
    auto order = std::make_shared<std::deque<item>>();
    transform t;
    t.on_batch = [seen, order, max_keys](std::vector<item>& in,
                                         std::vector<item>& out) {
      for (auto& x : in) {
        if (!seen->insert(x).second)
          continue;
        order->push_back(x);
        if (order->size() > max_keys) { // forget the oldest key
          seen->erase(order->front());
          order->pop_front();
        }
        out.push_back(std::move(x));
      }
      return caf::error{};
    };
    return t;
  };
  return s;
}

stage_part buffer(options& opts) {
  stage_part s;
  s.output = opts.input();
  s.is_buffer = true;
  s.make = [] {
    transform t;
    t.on_batch = [](std::vector<item>& in, std::vector<item>& out) {
      out.swap(in);
      return caf::error{};
    };
    return t;
  };
  return s;
}

std::string number_text(double x) {
  std::ostringstream os;
  os << x;
  return os.str();
}

// A token bucket: `per_second` tokens a second, at most `burst` saved up;
// an item leaves when it takes a token. Items without a token wait in the
// stage (they count against its capacity, so the upstream is held back);
// a timer releases them every 10 ms, without blocking a thread.
stage_part rate_limit(options& opts) {
  // NaN: missing or of another type (reported by number()).
  auto rate = opts.number("per_second", std::nan(""));
  if (!opts.has("per_second"))
    opts.error("per_second", "missing option 'per_second' (a number > 0, "
                             "items per second)");
  else if (!std::isnan(rate) && (rate <= 0 || rate > 1e9))
    opts.error("per_second", "option 'per_second': expected a number > 0 "
                             "and at most 1e9 (items per second), got "
                                 + number_text(rate));
  if (!(rate > 0) || rate > 1e9)
    rate = 1;
  auto burst = opts.number("burst", std::max(1.0, rate / 20));
  if (std::isnan(burst)) {
    burst = 1;
  } else if (burst < 1 || burst > 1e9) {
    opts.error("burst", "option 'burst': expected a number >= 1 and at most "
                        "1e9 (items let through at once), got "
                            + number_text(burst));
    burst = 1;
  }
  stage_part s;
  s.output = opts.input();
  s.make = [rate, burst] {
    struct bucket {
      std::deque<item> queue;
      double tokens = 0;
      std::chrono::steady_clock::time_point last;
    };
    auto b = std::make_shared<bucket>();
    b->tokens = burst;
    b->last = std::chrono::steady_clock::now();
    auto release = [b, rate, burst](std::vector<item>& out) {
      auto now = std::chrono::steady_clock::now();
      std::chrono::duration<double> dt = now - b->last;
      b->last = now;
      b->tokens = std::min(burst, b->tokens + dt.count() * rate);
      while (!b->queue.empty() && b->tokens >= 1) {
        out.push_back(std::move(b->queue.front()));
        b->queue.pop_front();
        b->tokens -= 1;
      }
    };
    transform t;
    t.on_batch = [b, release](std::vector<item>& in, std::vector<item>& out) {
      for (auto& x : in)
        b->queue.push_back(std::move(x));
      release(out);
      return caf::error{};
    };
    t.flush = release;
    t.pending = [b] {
      return b->queue.size();
    };
    t.window = std::chrono::milliseconds{10};
    return t;
  };
  return s;
}

} // namespace

void add_catalog_stages(registry& r) {
  auto text = item_kind::text;
  r.add_stage("map", text, "replaces each match of 'pattern' by 'replace'",
              map);
  r.add_stage("filter", text, "keeps the items matching 'pattern'", filter);
  r.add_stage("split_words", text,
              "emits the words (letters, digits) of each "
              "item",
              split_words);
  r.add_stage("lowercase", text, "lowercases each item", lowercase);
  r.add_stage("json_field", item_kind::json,
              "emits the value of 'field' (a.b.c) of each JSON item",
              json_field);
  r.add_stage("batch", text, "groups 'size' items into one JSON array", batch);
  r.add_stage("count_by_key", text,
              "counts equal items; emits key and count at the end of the "
              "stream or every 'window_ms'",
              count_by_key);
  r.add_stage("dedupe", text, "drops items seen before", dedupe);
  r.add_stage("buffer", text, "a bounded FIFO with an overflow policy", buffer);
  r.add_stage("rate_limit", text,
              "lets at most 'per_second' items a second through", rate_limit);
}

} // namespace coactor::spec
