// Benchmark of the HTTP server (issue 11): wrk (2 threads, 64 keep-alive
// connections, 10 s) against coactor's hello route (a plain function route
// and a coroutine route), a plain Boost.Beast async server and an aiohttp
// server, in one run, interleaved, 5 runs each: requests/s (min/median/max),
// p50/p99 latency, the ratios; then the heap and RSS an idle keep-alive
// connection costs the coactor server. `bench_http_server memory` runs the
// memory part only; `bench_http_server quick` runs 1 s x 1 (a smoke run).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <coactor/http/server.hpp>
#include <coactor/node.hpp>

#include "beast_hello_server.hpp"
#include "memory.hpp"
#include "node.hpp"
#include "process.hpp"
#include "stats.hpp"

using namespace std::chrono_literals;
using coactor::bench::median;
namespace http = coactor::http;

namespace {

constexpr const char* body = "hello world";

// -- wrk ----------------------------------------------------------------------

struct wrk_result {
  double rps = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  long errors = 0; // socket errors plus non-2xx responses
};

// "338.00us", "1.23ms", "1.01s" -> milliseconds.
double to_ms(double value, const std::string& unit) {
  if (unit == "us")
    return value / 1000;
  if (unit == "s")
    return value * 1000;
  return value;
}

wrk_result parse_wrk(const std::string& out) {
  wrk_result r;
  std::istringstream in{out};
  for (std::string line; std::getline(in, line);) {
    double v = 0;
    char unit[8] = {};
    long a = 0, b = 0, c = 0, d = 0;
    if (std::sscanf(line.c_str(), " 50%% %lf%7s", &v, unit) == 2)
      r.p50_ms = to_ms(v, unit);
    else if (std::sscanf(line.c_str(), " 99%% %lf%7s", &v, unit) == 2)
      r.p99_ms = to_ms(v, unit);
    else if (std::sscanf(line.c_str(), "Requests/sec: %lf", &v) == 1)
      r.rps = v;
    else if (std::sscanf(line.c_str(),
                         " Socket errors: connect %ld, read %ld, write %ld, "
                         "timeout %ld",
                         &a, &b, &c, &d)
             == 4)
      r.errors += a + b + c + d;
    else if (std::sscanf(line.c_str(), " Non-2xx or 3xx responses: %ld", &a)
             == 1)
      r.errors += a;
  }
  if (r.rps == 0)
    throw std::runtime_error("cannot read wrk's output:\n" + out);
  return r;
}

wrk_result run_wrk(uint16_t port, int seconds) {
  coactor::bench::child wrk{
      {"wrk", "-t2", "-c64", "-d" + std::to_string(seconds) + "s", "--latency",
       "http://127.0.0.1:" + std::to_string(port) + "/hello"}};
  return parse_wrk(wrk.finish());
}

// -- the servers --------------------------------------------------------------

coactor::task<http::response> co_hello(caf::event_based_actor*, http::request) {
  co_return http::response::text(200, body);
}

http::router function_hello() {
  return std::move(
      http::router{}.route("GET", "/hello", [](const http::request&) {
        return http::response::text(200, body);
      }));
}

http::server serve(coactor::node& n, http::router routes,
                   http::server_options opts = {}) {
  auto srv = http::serve(n, std::move(opts), std::move(routes));
  if (!srv)
    throw std::runtime_error(coactor::describe(srv.error()));
  return std::move(*srv);
}

struct series {
  std::string name;
  uint16_t port;
  std::vector<wrk_result> runs;

  [[nodiscard]] std::vector<double> rps() const {
    std::vector<double> xs;
    for (const auto& r : runs)
      xs.push_back(r.rps);
    return xs;
  }
  [[nodiscard]] double median_of(double wrk_result::*field) const {
    std::vector<double> xs;
    for (const auto& r : runs)
      xs.push_back(r.*field);
    return median(xs);
  }
};

void throughput(int runs, int seconds) {
  auto n = coactor::bench::quiet_node();
  http::server_options opts;
  opts.max_connections = 1024;
  auto fn_srv = serve(n, function_hello(), opts);
  auto co_srv = serve(n, http::router{}.route("GET", "/hello", co_hello), opts);
  coactor::bench::beast_hello_server beast{body, 1};
  coactor::bench::child aiohttp{
      {"/usr/bin/python3", COACTOR_BENCH_DIR "/aiohttp_hello.py", body}};
  auto aio_port = static_cast<uint16_t>(std::stoi(aiohttp.read_line()));
  std::vector<series> all{{"coactor, function route", fn_srv.port(), {}},
                          {"coactor, coroutine route", co_srv.port(), {}},
                          {"plain Beast, 1 thread", beast.port(), {}},
                          {"aiohttp, 1 process", aio_port, {}}};
  std::printf("wrk -t2 -c64 -d%ds --latency, %d runs each, interleaved; the "
              "coactor node: %zu scheduler threads, %zu I/O thread(s)\n",
              seconds, runs, n.options().threads, n.options().io_threads);
  for (int i = 0; i < runs; ++i)
    for (auto& s : all)
      s.runs.push_back(run_wrk(s.port, seconds));
  std::printf("%-26s %10s %10s %10s %9s %9s %7s\n", "server", "min req/s",
              "median", "max", "p50 ms", "p99 ms", "errors");
  for (const auto& s : all) {
    auto xs = s.rps();
    long errors = 0;
    for (const auto& r : s.runs)
      errors += r.errors;
    std::printf("%-26s %10.0f %10.0f %10.0f %9.3f %9.3f %7ld\n", s.name.c_str(),
                *std::min_element(xs.begin(), xs.end()), median(xs),
                *std::max_element(xs.begin(), xs.end()),
                s.median_of(&wrk_result::p50_ms),
                s.median_of(&wrk_result::p99_ms), errors);
  }
  auto m = [&](std::size_t i) {
    return median(all[i].rps());
  };
  std::printf("coactor function route / plain Beast: %.2fx (goal >= 0.8)\n",
              m(0) / m(2));
  std::printf("coactor coroutine route / plain Beast: %.2fx\n", m(1) / m(2));
  std::printf("coactor function route / aiohttp: %.2fx (goal >= 5)\n",
              m(0) / m(3));
  std::printf("coactor coroutine route / aiohttp: %.2fx\n", m(1) / m(3));
  fn_srv.stop(1s);
  co_srv.stop(1s);
}

// -- memory per idle keep-alive connection ------------------------------------

// A blocking client connection as a bare file descriptor, so that the
// client side adds nothing to this process' heap.
int connect_and_get(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0
      || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    throw std::runtime_error(std::string{"connect: "} + std::strerror(errno));
  const char req[] = "GET /hello HTTP/1.1\r\nHost: bench\r\n\r\n";
  if (::write(fd, req, sizeof(req) - 1)
      != static_cast<ssize_t>(sizeof(req) - 1))
    throw std::runtime_error("write failed");
  std::string got;
  char buf[512];
  while (got.size() < std::strlen(body)
         || got.compare(got.size() - std::strlen(body), std::string::npos, body)
                != 0) {
    auto k = ::read(fd, buf, sizeof(buf));
    if (k <= 0)
      throw std::runtime_error("the server closed a keep-alive connection");
    got.append(buf, static_cast<std::size_t>(k));
  }
  return fd;
}

void idle_memory() {
  constexpr std::size_t count = 2000;
  coactor::bench::raise_open_files(3 * count);
  auto n = coactor::bench::quiet_node();
  http::server_options opts;
  opts.max_connections = 2 * count;
  opts.read_timeout = 60s;
  auto srv = serve(n, function_hello(), opts);
  // Warm up: the first connections allocate what every later one reuses.
  for (int i = 0; i < 10; ++i)
    ::close(connect_and_get(srv.port()));
  auto heap0 = coactor::bench::settled_heap();
  auto rss0 = coactor::bench::rss_bytes();
  std::vector<int> fds;
  for (std::size_t i = 0; i < count; ++i)
    fds.push_back(connect_and_get(srv.port()));
  auto heap1 = coactor::bench::settled_heap();
  auto rss1 = coactor::bench::rss_bytes();
  auto open = srv.stats().open_connections;
  for (int fd : fds)
    ::close(fd);
  auto per = [&](std::size_t a, std::size_t b) {
    return (static_cast<double>(b) - static_cast<double>(a)) / count / 1024;
  };
  std::printf("%zu idle keep-alive connections (%zu open at the server): "
              "heap %.2f KiB and RSS %.2f KiB per connection (goal <= 16 "
              "KiB)\n",
              count, open, per(heap0, heap1), per(rss0, rss1));
  srv.stop(1s);
}

} // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (argc > 2 || (!mode.empty() && mode != "quick" && mode != "memory")) {
    std::fprintf(stderr, "usage: bench_http_server [quick|memory]\n");
    return 2;
  }
  try {
    if (mode.empty())
      throughput(5, 10);
    else if (mode == "quick")
      throughput(1, 1);
    idle_memory();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_http_server: %s\n", e.what());
    return 1;
  }
  return 0;
}
