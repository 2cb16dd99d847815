// Benchmark of the built-in metrics' cost (issue 13), in one run: pipeline
// throughput (1 producer -> buffer(1000) -> 1 consumer), ask round trips
// and gather replies over 10,000 actors, metrics off (`metrics = false`, no
// `metrics_port`) vs on (`metrics = true`, `metrics_port = 0`, /metrics
// scraped every 100 ms); then the pipeline on a metrics-on node with vs
// without wrk -t1 -c2 flooding /metrics. Each figure: a warm-up run per
// side, then `reps` runs per side interleaved (off, on, off, on, ...), a
// fresh node per run; min/median/max and the ratio of the medians (goals:
// >= 0.95x); for the flood, also the cores wrk and the node's scheduler and
// I/O threads used. It measures whatever the node records, so it picks up
// new built-in metrics when rebuilt.
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <caf/all.hpp>
#include <coactor/actors/pipeline.hpp>
#include <coactor/coroutines.hpp>
#include <coactor/metrics.hpp>
#include <coactor/node.hpp>

#include "machine.hpp"
#include "process.hpp"
#include "stats.hpp"
#include "thread_cpu.hpp"

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using coactor::bench::spread;

namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

constexpr int reps = 5;
constexpr auto forever = caf::timespan::max();

using coactor::bench::cores;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// "Off": no built-in metrics, no endpoint. "On": both.
coactor::node make_node(bool metrics_on) {
  coactor::node_options opts;
  opts.name = metrics_on ? "metrics-on" : "metrics-off";
  opts.log_level = coactor::log::level::warn;
  opts.metrics = metrics_on;
  if (metrics_on)
    opts.metrics_port = 0;
  auto n = coactor::node::create(opts);
  if (!n)
    throw std::runtime_error(coactor::describe(n.error()));
  return std::move(*n);
}

uint16_t metrics_port(coactor::node& n) {
  auto port = coactor::metrics::endpoint_port(n);
  if (!port)
    throw std::runtime_error("the metrics-on node serves no /metrics");
  return *port;
}

// -- a scraper: GET /metrics every 100 ms -------------------------------------

// A thread that GETs /metrics on one keep-alive connection (Boost.Beast,
// blocking), once at start and then every 100 ms until `finish`.
class scraper {
 public:
  explicit scraper(uint16_t port) : thread_([this, port] { loop(port); }) {}
  ~scraper() { stop(); }

  // Stops and joins the thread; returns the scrapes done; throws when one
  // failed.
  std::size_t finish() {
    stop();
    if (!error_.empty())
      throw std::runtime_error("scraping /metrics: " + error_);
    if (scrapes_ == 0)
      throw std::runtime_error("no /metrics scrape completed");
    return scrapes_;
  }

 private:
  void stop() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stop_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable())
      thread_.join();
  }

  void loop(uint16_t port) {
    try {
      asio::io_context ioc;
      asio::ip::tcp::socket sock{ioc};
      sock.connect({asio::ip::make_address("127.0.0.1"), port});
      boost::beast::flat_buffer buf;
      bhttp::request<bhttp::empty_body> req{bhttp::verb::get, "/metrics", 11};
      req.set(bhttp::field::host, "127.0.0.1");
      std::unique_lock<std::mutex> lock{mtx_};
      while (!stop_) {
        lock.unlock();
        bhttp::write(sock, req);
        bhttp::response<bhttp::string_body> res;
        bhttp::read(sock, buf, res);
        if (res.result_int() != 200 || res.body().empty())
          throw std::runtime_error("status "
                                   + std::to_string(res.result_int()));
        lock.lock();
        ++scrapes_;
        cv_.wait_for(lock, 100ms, [this] { return stop_; });
      }
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> guard{mtx_};
      error_ = e.what();
    }
  }

  std::mutex mtx_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::size_t scrapes_ = 0;
  std::string error_;
  std::thread thread_; // last: starts once the members above exist
};

// -- a flood: wrk -t1 -c2 against /metrics ------------------------------------

// CPU seconds of the reaped children so far.
double children_cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_CHILDREN, &ru);
  auto us = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1'000'000L
            + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
  return static_cast<double>(us) * 1e-6;
}

struct flood_result {
  double rps;   // requests/s, as wrk reports them
  double cores; // wrk's CPU time over the wall time it ran
};

// Runs `fn` while wrk floods /metrics; throws on wrk's errors. stdbuf makes
// wrk's "Running ..." line arrive when its thread has started, not when it
// exits; SIGINT makes wrk stop early and report.
template <class F>
flood_result under_flood(uint16_t port, F fn) {
  auto t0 = clock_type::now();
  auto cpu0 = children_cpu_seconds();
  coactor::bench::child wrk{
      {"stdbuf", "-oL", "wrk", "-t1", "-c2", "-d120s",
       "http://127.0.0.1:" + std::to_string(port) + "/metrics"}};
  auto first = wrk.read_line();
  if (first.rfind("Running", 0) != 0)
    throw std::runtime_error("wrk did not start: '" + first + "'");
  fn();
  wrk.send_signal(SIGINT);
  auto out = wrk.finish();
  double rps = 0;
  auto at = out.find("Requests/sec:");
  if (at == std::string::npos
      || std::sscanf(out.c_str() + at, "Requests/sec: %lf", &rps) != 1)
    throw std::runtime_error("cannot read wrk's output:\n" + out);
  if (out.find("Non-2xx") != std::string::npos)
    throw std::runtime_error("/metrics answered errors to wrk:\n" + out);
  return {rps, (children_cpu_seconds() - cpu0) / seconds_since(t0)};
}

// -- a. pipeline throughput ---------------------------------------------------

// Runs iota(0, items) -> buffer(1000) -> a summing sink; returns items/s and
// aborts the benchmark unless every item arrived once.
double pipeline_rate(coactor::node& n, int items) {
  using namespace coactor::actors;
  auto sum = std::make_shared<std::atomic<uint64_t>>(0);
  auto p = pipeline(n)
               .from(iota(0, items))
               .via(buffer({.capacity = 1000}))
               .to(for_each_batch([sum](std::vector<int>& xs) {
                 uint64_t s = 0;
                 for (auto x : xs)
                   s += static_cast<uint64_t>(x);
                 sum->fetch_add(s, std::memory_order_relaxed);
               }));
  auto t0 = clock_type::now();
  auto r = p.run();
  auto secs = seconds_since(t0);
  if (!r)
    throw std::runtime_error("pipeline failed: "
                             + coactor::describe(r.error()));
  auto count = static_cast<uint64_t>(items);
  if (r->consumed != count || sum->load() != count * (count - 1) / 2)
    throw std::runtime_error("pipeline lost or duplicated items: consumed "
                             + std::to_string(r->consumed) + " of "
                             + std::to_string(items) + ", checksum "
                             + std::to_string(sum->load()));
  return static_cast<double>(items) / secs;
}

// -- b. ask round trips, c. gather --------------------------------------------

caf::behavior echo() {
  return {[](int x) {
    return x;
  }};
}

coactor::task<int> co_ping(caf::event_based_actor* self, caf::actor pong,
                           int n) {
  int ok = 0;
  for (int i = 0; i < n; ++i) {
    auto r = co_await coactor::ask<int>(self, pong, forever, i);
    ok += r && *r == i ? 1 : 0;
  }
  co_return ok;
}

coactor::task<int> co_gather(caf::event_based_actor* self,
                             std::vector<caf::actor> targets, int rounds) {
  int ok = 0;
  for (int r = 0; r < rounds; ++r) {
    std::vector<coactor::ask_awaitable<int, int>> asks;
    asks.reserve(targets.size());
    for (auto& t : targets)
      asks.push_back(coactor::ask<int>(self, t, forever, r));
    auto rs = co_await coactor::gather(std::move(asks));
    for (auto& x : rs)
      ok += x && *x == r ? 1 : 0;
  }
  co_return ok;
}

// Runs `make_task(self)` in a new actor of `n`; returns its seconds and
// aborts the benchmark unless it counted `expected` good replies.
template <class MakeTask>
double timed_task(coactor::node& n, MakeTask make_task, int expected) {
  std::promise<std::pair<double, int>> done;
  auto fut = done.get_future();
  n.spawn([&done, make_task](caf::event_based_actor* self) {
    auto t0 = clock_type::now();
    coactor::start(self, make_task(self), [&done, t0](caf::expected<int> ok) {
      done.set_value({seconds_since(t0), ok ? *ok : -1});
    });
    return caf::behavior{};
  });
  auto [secs, ok] = fut.get();
  if (ok != expected)
    throw std::runtime_error(std::to_string(ok) + " of "
                             + std::to_string(expected) + " replies right");
  return secs;
}

double ping_rate(coactor::node& n, int pings) {
  auto pong = n.spawn(echo);
  auto make = [pong, pings](caf::event_based_actor* self) {
    return co_ping(self, pong, pings);
  };
  return pings / timed_task(n, make, pings);
}

double gather_rate(coactor::node& n, int actors, int rounds) {
  std::vector<caf::actor> targets;
  for (int i = 0; i < actors; ++i)
    targets.push_back(n.spawn(echo));
  auto make = [&targets, rounds](caf::event_based_actor* self) {
    return co_gather(self, targets, rounds);
  };
  return static_cast<double>(actors) * rounds
         / timed_task(n, make, actors * rounds);
}

// -- interleaved runs and the report ------------------------------------------

struct figures {
  std::vector<double> off;
  std::vector<double> on;
  std::vector<double> extra; // per on-run: scrapes, or wrk's requests/s
};

// `run(on, f)` measures one run; warm-up first (its `extra` dropped), then
// off/on interleaved.
figures interleaved(const std::function<double(bool, figures&)>& run) {
  figures f;
  run(false, f);
  run(true, f);
  f.extra.clear();
  for (int i = 0; i < reps; ++i) {
    f.off.push_back(run(false, f));
    f.on.push_back(run(true, f));
  }
  return f;
}

// Runs `measure(node)` on a fresh node: off, or on with a scraper (whose
// scrapes go to `f.extra`).
template <class Measure>
double off_or_on(bool on, figures& f, Measure measure) {
  auto n = make_node(on);
  if (!on)
    return measure(n);
  scraper s{metrics_port(n)};
  auto rate = measure(n);
  f.extra.push_back(static_cast<double>(s.finish()));
  return rate;
}

// One figure's two rows and the ratio of the medians, in units of `scale`.
void report(const std::string& title, const figures& f, double scale,
            const char* unit, const char* off_name, const char* on_name) {
  auto off = spread(f.off);
  auto on = spread(f.on);
  std::printf("%s\n", title.c_str());
  std::printf("  %-12s %10s %10s %10s\n", unit, "min", "median", "max");
  for (auto [name, s] : {std::pair{off_name, off}, std::pair{on_name, on}})
    std::printf("  %-12s %10.3f %10.3f %10.3f\n", name, s.min / scale,
                s.median / scale, s.max / scale);
  std::printf("  %s/%s (medians): %.3fx (goal: >= 0.95x)\n", on_name, off_name,
              on.median / off.median);
}

std::string scrapes_of(const figures& f) {
  auto s = spread(f.extra);
  return " (scrapes per on-run: " + std::to_string(static_cast<int>(s.min))
         + ".." + std::to_string(static_cast<int>(s.max)) + "):";
}

// -- the figures --------------------------------------------------------------

void pipeline_figure(int items) {
  auto f = interleaved([&](bool on, figures& fs) {
    return off_or_on(on, fs,
                     [&](coactor::node& n) { return pipeline_rate(n, items); });
  });
  report("a. pipeline 1 -> buffer(1000) -> 1, " + std::to_string(items)
             + " ints per run" + scrapes_of(f),
         f, 1e6, "M items/s", "off", "on");
}

void ask_figures() {
  constexpr int pings = 1'000'000;
  auto ping = interleaved([&](bool on, figures& fs) {
    return off_or_on(on, fs,
                     [&](coactor::node& n) { return ping_rate(n, pings); });
  });
  report("b. sequential co_await ask ping-pong, " + std::to_string(pings)
             + " per run" + scrapes_of(ping),
         ping, 1e3, "K trips/s", "off", "on");
  constexpr int actors = 10'000;
  constexpr int rounds = 50;
  auto gather = interleaved([&](bool on, figures& fs) {
    return off_or_on(on, fs, [&](coactor::node& n) {
      return gather_rate(n, actors, rounds);
    });
  });
  report("c. gather of 10,000 asks to 10,000 actors, " + std::to_string(rounds)
             + " rounds per run" + scrapes_of(gather),
         gather, 1e3, "K replies/s", "off", "on");
}

// The pipeline's rate; what the node's threads used meanwhile goes to `cpu`.
double pipeline_rate(coactor::node& n, int items,
                     std::vector<coactor::bench::cores_by_role>& cpu) {
  auto t0 = coactor::bench::thread_times::now();
  auto rate = pipeline_rate(n, items);
  cpu.push_back(coactor::bench::cores_by_role::between(
      t0, coactor::bench::thread_times::now()));
  return rate;
}

void print_cores(const char* side,
                 std::vector<coactor::bench::cores_by_role> xs) {
  xs.erase(xs.begin()); // the warm-up run's
  std::vector<double> sched;
  std::vector<double> io;
  std::vector<double> other;
  for (auto& x : xs) {
    sched.push_back(x.scheduler);
    io.push_back(x.io);
    other.push_back(x.other);
  }
  std::printf("  this process's threads, %s runs (median cores): scheduler "
              "%.2f, I/O %.2f, other %.2f\n",
              side, coactor::bench::median(sched), coactor::bench::median(io),
              coactor::bench::median(other));
}

void flood_figure(int items) {
  std::vector<double> wrk_cores;
  std::vector<coactor::bench::cores_by_role> quiet_cpu;
  std::vector<coactor::bench::cores_by_role> flood_cpu;
  auto f = interleaved([&](bool flooded, figures& fs) {
    auto n = make_node(true);
    if (!flooded)
      return pipeline_rate(n, items, quiet_cpu);
    double rate = 0;
    auto w = under_flood(metrics_port(n),
                         [&] { rate = pipeline_rate(n, items, flood_cpu); });
    fs.extra.push_back(w.rps);
    wrk_cores.push_back(w.cores);
    return rate;
  });
  wrk_cores.erase(wrk_cores.begin()); // the warm-up run's
  report("d. pipeline of a. on a metrics-on node (no scraper), without vs "
         "with wrk -t1 -c2 flooding /metrics:",
         f, 1e6, "M items/s", "quiet", "flood");
  auto w = spread(f.extra);
  std::printf("  wrk on /metrics during the flood runs: %.0f / %.0f / %.0f "
              "requests/s (min / median / max), using %.2f of %d cores "
              "itself (median)\n",
              w.min, w.median, w.max, coactor::bench::median(wrk_cores),
              cores());
  print_cores("quiet", quiet_cpu);
  print_cores("flood", flood_cpu);
}

// Items per pipeline run: 20M, fewer when that takes more than 2 s, more
// (about 1 s of work, in millions) when it takes less than a second, so
// that the 100 ms scraper and wrk see the run several times.
int pipeline_items() {
  constexpr int base = 20'000'000;
  auto n = make_node(false);
  auto rate = pipeline_rate(n, base);
  auto secs = base / rate;
  std::printf("pipeline runs: 20M ints took %.2f s here; sized to 1..2 s\n",
              secs);
  if (secs > 2)
    return static_cast<int>(base * 2 / secs);
  if (secs >= 1)
    return base;
  return static_cast<int>(std::min(rate, 1e9) / 1e6) * 1'000'000;
}

} // namespace

int main() {
  try {
    auto probe = make_node(false);
    std::printf("machine: %d cores (nproc), %s (UTC); node: %zu scheduler "
                "threads, %zu I/O thread(s)\n",
                cores(), coactor::bench::utc_date().c_str(),
                probe.options().threads, probe.options().io_threads);
    probe.stop();
    std::printf("off: metrics = false, no metrics_port; on: metrics = true, "
                "metrics_port = 0, /metrics scraped every 100 ms\n"
                "each figure: 1 warm-up run per side, then %d runs per side, "
                "interleaved, a fresh node per run\n",
                reps);
    auto items = pipeline_items();
    pipeline_figure(items);
    ask_figures();
    flood_figure(items);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_metrics_overhead: %s\n", e.what());
    return 1;
  }
  return 0;
}
