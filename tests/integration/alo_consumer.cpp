// A consumer node for the at-least-once fault tests: publishes the inlet
// "numbers" (int64 items), appends every item it consumes as a line to
// `--out FILE` (one write per batch), prints "consumed N" every 50,000
// items and its summary at the end. `--idempotent` resumes after the last
// complete line of FILE and drops repeats; without it every delivery is
// written (repeats included); either way a partial last line that a kill
// left is cut off at the start. `--rejoin MS` lets a lost at-least-once
// outlet (link dropped, producer's node restarted) open its path again
// within MS milliseconds (inlet_options::rejoin). Other arguments are node
// options (`--port`). Prints "listening on HOST:PORT"; exits 0 when the stream
// ended, 1 if it failed. Made to be killed with SIGKILL mid-stream and started
// again.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <future>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "coactor/actors/idempotent.hpp"
#include "coactor/actors/remote.hpp"
#include "coactor/error.hpp"
#include "coactor/node.hpp"
#include "coactor/remote.hpp"

using namespace coactor;
using namespace coactor::actors;

namespace {

// Returns the last complete line of `path` as a number and cuts off a
// partial line a kill left behind.
std::optional<uint64_t> recover(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::string data{std::istreambuf_iterator<char>{in}, {}};
  auto end = data.rfind('\n');
  if (end == std::string::npos) {
    if (!data.empty() && ::truncate(path.c_str(), 0) != 0)
      std::perror("truncate");
    return std::nullopt;
  }
  if (end + 1 != data.size()
      && ::truncate(path.c_str(), static_cast<off_t>(end + 1)) != 0)
    std::perror("truncate");
  auto prev = end == 0 ? std::string::npos : data.rfind('\n', end - 1);
  auto begin = prev == std::string::npos ? 0 : prev + 1;
  return std::stoull(data.substr(begin, end - begin));
}

// Appends items as lines with one write; counts and reports progress.
struct appender {
  int fd = -1;
  uint64_t seen = 0;
  uint64_t next_report = 50'000;

  caf::error operator()(std::vector<int64_t>& xs) {
    std::string buf;
    buf.reserve(xs.size() * 8);
    for (auto x : xs) {
      buf += std::to_string(x);
      buf += '\n';
    }
    for (size_t off = 0; off < buf.size();) {
      auto k = ::write(fd, buf.data() + off, buf.size() - off);
      if (k < 0)
        return make_error(errc::stage_failed, std::strerror(errno));
      off += static_cast<size_t>(k);
    }
    seen += xs.size();
    if (seen >= next_report) {
      std::cout << "consumed " << seen << std::endl;
      next_report += 50'000;
    }
    return {};
  }
};

} // namespace

int main(int argc, char** argv) {
  std::vector<const char*> args;
  std::string out;
  bool idem = false;
  long rejoin_ms = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--out") == 0 && i + 1 < argc)
      out = argv[++i];
    else if (std::strcmp(argv[i], "--rejoin") == 0 && i + 1 < argc)
      rejoin_ms = std::stol(argv[++i]);
    else if (std::strcmp(argv[i], "--idempotent") == 0)
      idem = true;
    else
      args.push_back(argv[i]);
  }
  node_options base;
  base.name = "consumer";
  base.threads = 2;
  base.log_level = log::level::error;
  auto opts = node_options::from_args(args, base);
  if (!opts || out.empty()) {
    std::cerr << "alo consumer: "
              << (opts ? "--out FILE is required" : describe(opts.error()))
              << '\n';
    return 2;
  }
  register_item_type<int64_t>(opts->types, "int64");
  auto n = node::create(*opts);
  if (!n) {
    std::cerr << "alo consumer: " << describe(n.error()) << '\n';
    return 1;
  }
  // A kill may have cut the last line short: cut it off in either mode (the
  // batch it belonged to was not acknowledged and comes again).
  auto recovered = recover(out);
  auto last = idem ? recovered : std::nullopt;
  auto fd
      = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::perror(out.c_str());
    return 1;
  }
  inlet_options in_opts;
  in_opts.capacity = 8192;
  in_opts.rejoin = std::chrono::milliseconds{rejoin_ms};
  auto p = pipeline(*n).from(inlet<int64_t>("numbers", in_opts));
  auto key = [](int64_t x) {
    return x;
  };
  std::promise<caf::expected<pipeline_summary>> done;
  auto on_done = [&done](caf::expected<pipeline_summary> r) {
    done.set_value(std::move(r));
  };
  auto started
      = idem ? std::move(p)
                   .to(idempotent(key, last, appender{fd}))
                   .start(on_done)
             : std::move(p).to(for_each_batch(appender{fd})).start(on_done);
  auto port = remote::port(*n);
  if (!started || !port) {
    std::cerr << "alo consumer: "
              << describe(started ? port.error() : started.error()) << '\n';
    return 1;
  }
  // The inlet is published: a producer may look it up now.
  std::cout << "listening on " << opts->host << ':' << *port << std::endl;
  auto r = done.get_future().get();
  ::close(fd);
  if (!r) {
    std::cerr << "alo consumer: " << describe(r.error()) << '\n';
    return 1;
  }
  std::cout << r->to_string() << std::flush;
  return 0;
}
