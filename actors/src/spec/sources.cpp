// The catalog's sources: numbers, file, stdin, timer.
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "coactor/spec/registry.hpp"

namespace coactor::spec {

namespace {

item_kind items_option(options& opts) {
  auto x = opts.choice("items", {"text", "json", "number"});
  return x == "json"     ? item_kind::json
         : x == "number" ? item_kind::number
                         : item_kind::text;
}

// `max_batch`, and `rate` (items per second, 0 = as fast as credit
// allows): a rate becomes one generation step per tick, so the source
// never runs ahead and memory stays bounded.
actors::producer_options batch_option(options& opts) {
  actors::producer_options po;
  po.max_batch
      = static_cast<size_t>(opts.integer_at_least("max_batch", 1024, 1));
  auto rate = opts.number("rate", 0);
  if (rate < 0 || rate > 1e9) {
    opts.error("rate", "option 'rate': expected items per second from 0 "
                       "(unlimited) to 1e9");
  } else if (rate >= 100) {
    po.period = std::chrono::milliseconds{10};
    po.max_batch = static_cast<size_t>(rate / 100);
  } else if (rate > 0) {
    po.period = std::chrono::nanoseconds{static_cast<int64_t>(1e9 / rate)};
    po.max_batch = 1;
  }
  return po;
}

source_part numbers(options& opts) {
  auto first = opts.integer("from", 0);
  auto last = opts.integer("to", 0);
  if (!opts.has("to"))
    opts.error("to", "missing option 'to' (an integer, exclusive)");
  auto step = opts.integer_at_least("step", 1, 1);
  auto po = batch_option(opts);
  source_part s;
  s.output = item_kind::number;
  s.producer = actors::from_generator<item>(
      [first, last, step] {
        return [next = first, last, step](std::vector<item>& out,
                                          size_t max) mutable {
          for (size_t i = 0; i < max && next < last; ++i, next += step)
            out.push_back(std::to_string(next));
          return next < last;
        };
      },
      po);
  return s;
}

source_part file(options& opts) {
  auto path = opts.required_string("path");
  if (!path.empty() && !std::ifstream{path})
    opts.error("path", "option 'path': cannot open '" + path + "' for reading");
  source_part s;
  s.output = items_option(opts);
  s.producer = actors::from_lines(path, batch_option(opts));
  return s;
}

// Reads lines as they come: the generator blocks its worker thread while it
// waits for input, as reading a slow file would.
source_part standard_input(options& opts) {
  source_part s;
  s.output = items_option(opts);
  s.producer = actors::from_generator<item>(
      [] {
        return [](std::vector<item>& out, size_t max) {
          std::string line;
          for (size_t i = 0; i < max; ++i) {
            if (!std::getline(std::cin, line))
              return false;
            out.push_back(std::move(line));
          }
          return true;
        };
      },
      batch_option(opts));
  return s;
}

source_part timer(options& opts) {
  auto period = opts.integer_at_least("period_ms", 1000, 1);
  auto count = opts.integer_at_least("count", 0, 0);
  source_part s;
  s.output = item_kind::number;
  s.producer
      = actors::every(std::chrono::milliseconds{period},
                      [count](uint64_t tick) -> std::optional<item> {
                        if (count > 0 && tick >= static_cast<uint64_t>(count))
                          return std::nullopt;
                        return std::to_string(tick);
                      });
  return s;
}

} // namespace

void add_catalog_sources(registry& r) {
  r.add_source("numbers", "the integers from 'from' up to 'to' (exclusive)",
               numbers);
  r.add_source("file", "the lines of the file at 'path'", file);
  r.add_source("stdin", "the lines of standard input", standard_input);
  r.add_source("timer", "a tick number every 'period_ms' (a push source)",
               timer);
}

} // namespace coactor::spec
