// The catalog's sources: numbers, file, directory, stdin, timer.
#include <fnmatch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "coactor/error.hpp"
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

namespace fs = std::filesystem;

using file_list = std::function<caf::expected<std::vector<std::string>>()>;

// Bytes read of the files' total size, shared with `done` for the ETA.
struct read_progress {
  std::atomic<uint64_t> read{0};
  std::atomic<uint64_t> total{0};
};

// Makes `s` emit the lines of the files `list()` returns when the run
// starts, one file after the other, and tell how far it read.
void lines_of(source_part& s, file_list list, actors::producer_options po) {
  auto progress = std::make_shared<read_progress>();
  s.producer = actors::from_generator<item>(
      [list, progress] {
        struct state {
          std::vector<std::string> files;
          size_t next = 0;
          std::ifstream in;
          bool listed = false;
        };
        auto st = std::make_shared<state>();
        return [st, list, progress](std::vector<item>& out,
                                    size_t max) -> caf::expected<bool> {
          if (!st->listed) {
            auto files = list();
            if (!files)
              return std::move(files.error());
            st->files = std::move(*files);
            st->listed = true;
            uint64_t total = 0;
            for (auto& f : st->files) {
              std::error_code ec;
              auto n = fs::file_size(f, ec);
              total += ec ? 0 : n;
            }
            progress->read = 0;
            progress->total = total;
          }
          std::string line;
          uint64_t bytes = 0;
          for (auto first = out.size(); out.size() - first < max;) {
            if (st->in.is_open() && std::getline(st->in, line)) {
              bytes += line.size() + 1;
              out.push_back(std::move(line));
              continue;
            }
            st->in.close();
            if (st->next == st->files.size()) {
              progress->read += bytes;
              return false;
            }
            auto& f = st->files[st->next++];
            st->in.clear();
            st->in.open(f);
            if (!st->in)
              return make_error(errc::invalid_argument,
                                "cannot open '" + f + "' for reading");
          }
          progress->read += bytes;
          return true;
        };
      },
      po);
  s.done = [progress](uint64_t) -> std::optional<double> {
    auto total = progress->total.load();
    if (total == 0)
      return std::nullopt;
    return std::min(1.0, static_cast<double>(progress->read.load())
                             / static_cast<double>(total));
  };
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
  // How many items it emits, for the ETA (from, from + step, ... below to).
  auto total = last > first ? (static_cast<double>(last) - first + step - 1)
                                  / static_cast<double>(step)
                            : 0.0;
  s.done = [total](uint64_t produced) -> std::optional<double> {
    auto n = std::floor(total);
    return n <= 0 ? 1.0 : std::min(1.0, static_cast<double>(produced) / n);
  };
  return s;
}

source_part file(options& opts) {
  auto path = opts.required_string("path");
  if (!path.empty() && !std::ifstream{path})
    opts.error("path", "option 'path': cannot open '" + path + "' for reading");
  source_part s;
  s.output = items_option(opts);
  lines_of(
      s,
      [path]() -> caf::expected<std::vector<std::string>> {
        return std::vector<std::string>{path};
      },
      batch_option(opts));
  return s;
}

// The regular files in `dir` whose names match the glob `pattern` (a
// leading '.' only matches a '.' in the pattern), sorted by name.
caf::expected<std::vector<std::string>> list_files(const std::string& dir,
                                                   const std::string& pattern) {
  std::error_code ec;
  std::vector<std::string> names;
  for (fs::directory_iterator it{dir, ec}, end; !ec && it != end;
       it.increment(ec)) {
    auto name = it->path().filename().string();
    std::error_code kind_ec; // a dangling link is no regular file
    if (it->is_regular_file(kind_ec)
        && ::fnmatch(pattern.c_str(), name.c_str(), FNM_PERIOD) == 0)
      names.push_back(name);
  }
  if (ec)
    return make_error(errc::invalid_argument,
                      "cannot list '" + dir + "': " + ec.message());
  std::sort(names.begin(), names.end());
  for (auto& n : names)
    n = (fs::path{dir} / n).string();
  return names;
}

bool listable(const std::string& dir, std::error_code& ec) {
  fs::directory_iterator it{dir, ec};
  return !ec;
}

// The lines of every matching file, the files in name order; listed when
// the run starts, so a spec run again sees the files then present.
source_part directory(options& opts) {
  auto dir = opts.required_string("path");
  auto pattern = opts.string("pattern", "*");
  std::error_code ec;
  if (!dir.empty() && !fs::exists(dir, ec))
    opts.error("path", "option 'path': no such directory '" + dir + "'");
  else if (!dir.empty() && !fs::is_directory(dir, ec))
    opts.error("path", "option 'path': '" + dir + "' is not a directory");
  else if (!dir.empty() && !listable(dir, ec))
    opts.error("path",
               "option 'path': cannot list '" + dir + "': " + ec.message());
  if (pattern.empty())
    opts.error("pattern", "option 'pattern': expected a glob such as "
                          "\"*.log\", got an empty string");
  source_part s;
  s.output = items_option(opts);
  lines_of(
      s, [dir, pattern] { return list_files(dir, pattern); },
      batch_option(opts));
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
  if (count > 0)
    s.done = [count](uint64_t produced) -> std::optional<double> {
      return std::min(1.0, static_cast<double>(produced)
                               / static_cast<double>(count));
    };
  return s;
}

} // namespace

void add_catalog_sources(registry& r) {
  r.add_source("numbers", "the integers from 'from' up to 'to' (exclusive)",
               numbers);
  r.add_source("file", "the lines of the file at 'path'", file);
  r.add_source("directory",
               "the lines of the files in the directory at 'path' matching "
               "'pattern', in name order",
               directory);
  r.add_source("stdin", "the lines of standard input", standard_input);
  r.add_source("timer", "a tick number every 'period_ms' (a push source)",
               timer);
}

} // namespace coactor::spec
