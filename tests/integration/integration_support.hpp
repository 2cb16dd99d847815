// Helpers of the multi-process tests: start peer processes, ask from an
// actor of an in-process node, bounded waits.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <future>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <catch2/catch.hpp>

#include "coactor/error.hpp"
#include "coactor/node.hpp"
#include "coactor/remote.hpp"
#include "support/child_process.hpp"
#include "support/deterministic.hpp"
#include "test_types.hpp"

namespace coactor::testing::integration {

using namespace std::chrono_literals;

// Renders the error of `x`, or "" when it holds a value.
template <class T>
std::string why(const caf::expected<T>& x) {
  return x ? std::string{} : describe(x.error());
}

inline const std::regex listening_re{"listening on ([0-9.]+):([0-9]+)"};

struct running_peer {
  child_process proc;
  uint16_t port = 0;
};

// Starts a child process and reads the port it listens on.
inline running_peer start_process(std::vector<std::string> argv) {
  auto proc = child_process::start(argv);
  REQUIRE(proc);
  auto m = proc->wait_for_line(listening_re, 30s);
  INFO("output so far: " << proc->output());
  REQUIRE(m);
  auto port = static_cast<uint16_t>(std::stoi((*m)[2].str()));
  return running_peer{std::move(*proc), port};
}

inline running_peer start_peer(std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{COACTOR_TEST_PEER};
  if (extra.empty() || extra.front() != "--port")
    argv.insert(argv.end(), {"--port", "0"});
  argv.insert(argv.end(), extra.begin(), extra.end());
  return start_process(std::move(argv));
}

inline node_options client_options(std::string name = "client") {
  node_options opts;
  opts.name = std::move(name);
  opts.threads = 2;
  opts.networking = true;
  opts.log_level = log::level::error;
  coactor::testing::add_test_types(opts.types);
  return opts;
}

// Asks from an actor of `n`; the future gets the one outcome.
template <class R, class... Ts>
std::future<caf::expected<R>> ask_from(node& n, caf::actor target,
                                       caf::timespan timeout, Ts... xs) {
  auto done = std::make_shared<std::promise<caf::expected<R>>>();
  auto fut = done->get_future();
  n.spawn([=](caf::event_based_actor* self) {
    remote::ask<R>(
        self, target, timeout,
        [done](caf::expected<R> x) { done->set_value(std::move(x)); }, xs...);
  });
  return fut;
}

template <class T>
T get_within(std::future<T>& f, std::chrono::milliseconds bound) {
  REQUIRE(f.wait_for(bound) == std::future_status::ready);
  return f.get();
}

inline caf::actor lookup_ok(node& n, const remote::peer& p,
                            const std::string& name) {
  auto hdl = remote::lookup(n, p, name);
  INFO(why(hdl));
  REQUIRE(hdl);
  return *hdl;
}

inline remote::peer connect_ok(node& n, uint16_t port,
                               remote::connect_options opts = {}) {
  auto p = remote::connect(n, "127.0.0.1", port, opts);
  INFO(why(p));
  REQUIRE(p);
  return *p;
}

// Opens a raw TCP connection to 127.0.0.1:port; returns the socket or -1.
inline int raw_connect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// What the consumer recorded: items lost and repeats.
struct tally_result {
  size_t lost = 0;
  size_t repeats = 0;
};

/// Counts how often each of 0 .. items-1 appears in `path` (one per line).
inline tally_result tally(const std::string& path, int64_t items) {
  std::vector<uint32_t> seen(static_cast<size_t>(items), 0);
  std::ifstream in{path};
  int64_t x = 0;
  size_t bad = 0;
  while (in >> x) {
    if (x >= 0 && x < items)
      ++seen[static_cast<size_t>(x)];
    else
      ++bad;
  }
  CHECK(bad == 0);
  CHECK(in.eof()); // every line a number
  tally_result r;
  for (auto k : seen) {
    r.lost += k == 0 ? 1 : 0;
    r.repeats += k > 1 ? k - 1 : 0;
  }
  return r;
}

} // namespace coactor::testing::integration
