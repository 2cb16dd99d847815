// Benchmark of the HTTP client (issue 11): 10,000 GETs with 100 in flight
// against a local plain Boost.Beast server, coactor's http::fetch (100
// worker tasks gathered in one actor) vs aiohttp's client (100 workers over
// one session) in the same run, interleaved, 5 runs each: requests/s
// (min/median/max) and the ratio; then the heap and RSS one in-flight
// request costs (1,000 requests held by a server that reads them and never
// answers). `bench_http_client memory` runs the memory part only;
// `bench_http_client quick` runs 1,000 GETs once (a smoke run).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <coactor/coroutines.hpp>
#include <coactor/http/client.hpp>
#include <coactor/node.hpp>

#include "beast_hello_server.hpp"
#include "memory.hpp"
#include "node.hpp"
#include "process.hpp"
#include "stats.hpp"

using namespace std::chrono_literals;
using coactor::bench::median;
using clock_type = std::chrono::steady_clock;
namespace http = coactor::http;

namespace {

constexpr std::size_t in_flight = 100;

http::client_options client_opts(std::size_t connections) {
  http::client_options opts;
  opts.timeout = 60s;
  opts.max_connections_per_host = connections;
  return opts;
}

// -- coactor: workers gathered in one actor -----------------------------------

coactor::task<std::size_t> worker(caf::event_based_actor* self, std::string url,
                                  std::size_t n, http::client_options opts) {
  std::size_t ok = 0;
  const http::request get; // named: see the g++ 12 note of from_callback
  for (std::size_t i = 0; i < n; ++i) {
    auto res = co_await http::fetch(self, url, get, opts);
    ok += res && res->status == 200 ? 1 : 0;
  }
  co_return ok;
}

coactor::task<std::size_t> fetch_all(caf::event_based_actor* self,
                                     std::string url, std::size_t total,
                                     std::size_t workers) {
  std::vector<coactor::task<std::size_t>> ws;
  for (std::size_t i = 0; i < workers; ++i)
    ws.push_back(worker(self, url, total / workers, client_opts(workers)));
  auto results = co_await coactor::gather(std::move(ws));
  std::size_t ok = 0;
  for (auto& r : results)
    ok += r ? *r : 0;
  co_return ok;
}

caf::behavior client(caf::event_based_actor* self, std::string url,
                     std::size_t total, std::size_t workers,
                     std::promise<std::size_t>* done) {
  coactor::start(
      self, fetch_all(self, std::move(url), total, workers),
      [done](caf::expected<std::size_t> ok) { done->set_value(ok ? *ok : 0); });
  return {};
}

// Runs `total` GETs with `workers` in flight; returns the elapsed seconds.
double run_coactor(coactor::node& n, const std::string& url, std::size_t total,
                   std::size_t workers) {
  std::promise<std::size_t> done;
  auto ok = done.get_future();
  auto t0 = clock_type::now();
  n.spawn(client, url, total, workers, &done);
  auto got = ok.get();
  auto elapsed = std::chrono::duration<double>(clock_type::now() - t0).count();
  if (got != total)
    throw std::runtime_error("coactor: " + std::to_string(got) + " of "
                             + std::to_string(total) + " GETs answered 200");
  return elapsed;
}

double run_aiohttp(const std::string& url, std::size_t total) {
  coactor::bench::child py{{"/usr/bin/python3",
                            COACTOR_BENCH_DIR "/aiohttp_client.py", url,
                            std::to_string(total), std::to_string(in_flight)}};
  auto out = py.finish();
  std::size_t ok = 0;
  double seconds = 0;
  if (std::sscanf(out.c_str(), "%zu %lf", &ok, &seconds) != 2 || ok != total)
    throw std::runtime_error("aiohttp client: unexpected output: " + out);
  return seconds;
}

void throughput(int runs, std::size_t total) {
  coactor::bench::beast_hello_server server{"hello world", 1};
  auto url = "http://127.0.0.1:" + std::to_string(server.port()) + "/hello";
  auto n = coactor::bench::quiet_node();
  run_coactor(n, url, in_flight, in_flight); // opens the pool's connections
  std::vector<double> co_rps;
  std::vector<double> aio_rps;
  for (int i = 0; i < runs; ++i) {
    co_rps.push_back(static_cast<double>(total)
                     / run_coactor(n, url, total, in_flight));
    aio_rps.push_back(static_cast<double>(total) / run_aiohttp(url, total));
  }
  std::printf("%zu GETs, %zu in flight, against a plain Beast server (1 "
              "thread), %d runs each, interleaved; the coactor node: %zu "
              "scheduler threads, %zu I/O thread(s)\n",
              total, in_flight, runs, n.options().threads,
              n.options().io_threads);
  std::printf("%-22s %10s %10s %10s\n", "client", "min req/s", "median", "max");
  auto row = [](const char* name, const std::vector<double>& xs) {
    std::printf("%-22s %10.0f %10.0f %10.0f\n", name,
                *std::min_element(xs.begin(), xs.end()), median(xs),
                *std::max_element(xs.begin(), xs.end()));
  };
  row("coactor http::fetch", co_rps);
  row("aiohttp ClientSession", aio_rps);
  std::printf("coactor / aiohttp: %.2fx (goal >= 3)\n",
              median(co_rps) / median(aio_rps));
}

// -- memory per in-flight request ---------------------------------------------

/// Accepts `count` connections, reads each one's request head and never
/// answers; `all_read` is set once every request was read. Destroying it
/// closes every connection.
class silent_server {
 public:
  explicit silent_server(std::size_t count) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), len) != 0
        || ::listen(listener_, 4096) != 0
        || ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len)
               != 0)
      throw std::runtime_error("silent server: cannot listen");
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread{[this, count] {
      for (std::size_t i = 0; i < count; ++i) {
        int fd = ::accept(listener_, nullptr, nullptr);
        if (fd < 0)
          return;
        fds_.push_back(fd);
        std::string head;
        char buf[512];
        while (head.find("\r\n\r\n") == std::string::npos) {
          auto k = ::read(fd, buf, sizeof(buf));
          if (k <= 0)
            break;
          head.append(buf, static_cast<std::size_t>(k));
        }
      }
      all_read_.set_value();
    }};
  }

  silent_server(const silent_server&) = delete;
  silent_server& operator=(const silent_server&) = delete;

  ~silent_server() {
    ::shutdown(listener_, SHUT_RDWR);
    thread_.join();
    for (int fd : fds_)
      ::close(fd);
    ::close(listener_);
  }

  [[nodiscard]] uint16_t port() const { return port_; }

  /// Waits until every request was read; false after `timeout`.
  bool wait(std::chrono::seconds timeout) {
    return all_read_.get_future().wait_for(timeout)
           == std::future_status::ready;
  }

 private:
  int listener_ = -1;
  uint16_t port_ = 0;
  std::vector<int> fds_;
  std::promise<void> all_read_;
  std::thread thread_;
};

void in_flight_memory() {
  constexpr std::size_t count = 1000;
  coactor::bench::raise_open_files(3 * count);
  auto n = coactor::bench::quiet_node();
  {
    // Warm up the node's I/O thread and pool with one real exchange.
    coactor::bench::beast_hello_server warm{"hello world", 1};
    run_coactor(n, "http://127.0.0.1:" + std::to_string(warm.port()) + "/", 1,
                1);
  }
  std::promise<std::size_t> done;
  auto finished = done.get_future();
  std::size_t heap0 = 0;
  std::size_t rss0 = 0;
  std::size_t heap1 = 0;
  std::size_t rss1 = 0;
  {
    silent_server server{count};
    heap0 = coactor::bench::settled_heap();
    rss0 = coactor::bench::rss_bytes();
    n.spawn(client, "http://127.0.0.1:" + std::to_string(server.port()) + "/",
            count, count, &done);
    if (!server.wait(30s))
      throw std::runtime_error("the requests did not all arrive in 30 s");
    heap1 = coactor::bench::settled_heap();
    rss1 = coactor::bench::rss_bytes();
  } // closes every connection: each request ends with an error
  if (finished.wait_for(30s) != std::future_status::ready)
    throw std::runtime_error("the requests did not end after the close");
  auto per = [&](std::size_t a, std::size_t b) {
    return (static_cast<double>(b) - static_cast<double>(a)) / count / 1024;
  };
  std::printf("%zu requests in flight (each its own connection and task): "
              "heap %.2f KiB and RSS %.2f KiB per request\n",
              count, per(heap0, heap1), per(rss0, rss1));
}

} // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (argc > 2 || (!mode.empty() && mode != "quick" && mode != "memory")) {
    std::fprintf(stderr, "usage: bench_http_client [quick|memory]\n");
    return 2;
  }
  try {
    if (mode.empty())
      throughput(5, 10'000);
    else if (mode == "quick")
      throughput(1, 1'000);
    in_flight_memory();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_http_client: %s\n", e.what());
    return 1;
  }
  return 0;
}
