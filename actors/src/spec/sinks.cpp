// The catalog's sinks: stdout, file, jsonl, counter.
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "coactor/error.hpp"
#include "coactor/spec/registry.hpp"

namespace coactor::spec {

namespace {

// One batch is one write: lines of concurrent pipelines never interleave.
std::mutex stdout_mutex;

caf::error write_stdout(const std::string& text) {
  std::lock_guard<std::mutex> guard{stdout_mutex};
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size()
      || std::fflush(stdout) != 0)
    return make_error(errc::stage_failed, "cannot write to stdout");
  return {};
}

/// A sink writing `line(item)` + '\n' per item to `path`, or to stdout when
/// `path` is empty.
template <class Line>
sink_part line_sink(std::string path, bool append, Line line) {
  sink_part s;
  s.single_copy = true;
  s.make = [path, append, line]() -> sink_fn {
    std::shared_ptr<std::ofstream> out;
    if (!path.empty()) {
      out = std::make_shared<std::ofstream>(path, append ? std::ios::app
                                                         : std::ios::trunc);
      if (!*out)
        throw std::invalid_argument("cannot open '" + path + "' for writing");
    }
    return [out, path, line](std::vector<item>& items) -> caf::error {
      std::string text;
      for (auto& x : items) {
        text += line(x);
        text += '\n';
      }
      if (!out)
        return write_stdout(text);
      out->write(text.data(), static_cast<std::streamsize>(text.size()));
      out->flush();
      if (!*out)
        return make_error(errc::stage_failed, "cannot write '" + path + "'");
      return {};
    };
  };
  return s;
}

sink_part standard_output(options&) {
  return line_sink("", false, [](item& x) -> item& { return x; });
}

sink_part file(options& opts) {
  auto path = opts.required_string("path");
  auto append = opts.boolean("append", false);
  return line_sink(path, append, [](item& x) -> item& { return x; });
}

sink_part jsonl(options& opts) {
  auto path = opts.string("path", "");
  auto append = opts.boolean("append", false);
  // JSON items are re-encoded compactly, anything else becomes a string.
  bool parse = opts.input() != item_kind::text;
  return line_sink(path, append, [parse](item& x) {
    if (parse) {
      auto v = nlohmann::json::parse(x, nullptr, false);
      if (!v.is_discarded())
        return v.dump();
    }
    return nlohmann::json(x).dump();
  });
}

sink_part counter(options&) {
  sink_part s;
  s.make = []() -> sink_fn {
    return [](std::vector<item>&) -> caf::error {
      return {};
    };
  };
  return s;
}

} // namespace

void add_catalog_sinks(registry& r) {
  auto text = item_kind::text;
  r.add_sink("stdout", text, "writes each item as a line to standard output",
             standard_output);
  r.add_sink("file", text, "writes each item as a line to the file at 'path'",
             file);
  r.add_sink("jsonl", text, "writes each item as one JSON value per line",
             jsonl);
  r.add_sink("counter", text, "counts the items (see the summary)", counter);
}

} // namespace coactor::spec
