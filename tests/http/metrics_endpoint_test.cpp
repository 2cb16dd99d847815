// Tests of the node's `/metrics` endpoint: served on `metrics_port`, counted
// per route and status, valid for `promtool check metrics`, and scraped by a
// real Prometheus whose HTTP API reports what the pipeline reported.
#include "coactor/metrics.hpp"

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>

#include <caf/event_based_actor.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "coactor/actors/pipeline.hpp"
#include "coactor/coroutines.hpp"
#include "coactor/http/client.hpp"
#include "coactor/node.hpp"
#include "metrics_support.hpp"
#include "server_support.hpp"
#include "support/child_process.hpp"

using namespace std::chrono_literals;
namespace http = coactor::http;
namespace metrics = coactor::metrics;
namespace fs = std::filesystem;
using coactor::testing::make_metrics_node;
using coactor::testing::raw_client;
using coactor::testing::temp_dir;

namespace {

std::string scrape(coactor::node& n) {
  raw_client c{*metrics::endpoint_port(n)};
  auto res = c.get("/metrics");
  REQUIRE(res.result_int() == 200);
  CHECK(std::string{res[boost::beast::http::field::content_type]}
        == metrics::prometheus_content_type);
  return res.body();
}

/// Runs a pipeline of `count` items to completion; returns its summary.
coactor::actors::pipeline_summary run_pipeline(coactor::node& n, int count) {
  using namespace coactor::actors;
  auto r = pipeline(n)
               .from(iota(0, count))
               .via(buffer({.capacity = 64}))
               .to(counter())
               .run();
  REQUIRE(r);
  return *r;
}

// -- polling Prometheus' API from an actor
// -------------------------------------

using self_ptr = caf::event_based_actor*;

// Queries `url` every 100 ms until the first result's value is `want` or
// `deadline` passed; yields the last value seen ("" for none).
coactor::task<void> poll(self_ptr self, std::string url, std::string want,
                         std::chrono::steady_clock::time_point deadline,
                         std::promise<std::string>* out) {
  std::string last;
  while (std::chrono::steady_clock::now() < deadline) {
    auto res = co_await http::get(self, url, caf::timespan{2s});
    if (res && res->status == 200) {
      auto doc = nlohmann::json::parse(res->body, nullptr, false);
      if (!doc.is_discarded() && doc["status"] == "success"
          && !doc["data"]["result"].empty()) {
        last = doc["data"]["result"][0]["value"][1].get<std::string>();
        if (last == want)
          break;
      }
    }
    co_await coactor::sleep(self, 100ms); // Prometheus not up or not scraped
  }
  out->set_value(last);
}

caf::behavior poll_actor(self_ptr self, std::string url, std::string want,
                         std::chrono::steady_clock::time_point deadline,
                         std::promise<std::string>* out) {
  coactor::start(self,
                 poll(self, std::move(url), std::move(want), deadline, out));
  return {[](int) {
  }};
}

coactor::task<http::response> slow_200ms(self_ptr self, http::request) {
  co_await coactor::sleep(self, 200ms);
  co_return http::response::text(200, "slow");
}

uint16_t free_port() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a{
      ioc, {boost::asio::ip::make_address("127.0.0.1"), 0}};
  return a.local_endpoint().port();
}

} // namespace

TEST_CASE("metrics_port serves /metrics and answers 404 for other paths",
          "[http][metrics]") {
  auto n = make_metrics_node();
  auto body = scrape(n);
  CHECK(body.find("# TYPE coactor_node_uptime_seconds gauge\n")
        != std::string::npos);
  CHECK(body.find("coactor_node_scheduler_threads 2\n") != std::string::npos);
  raw_client c{*metrics::endpoint_port(n)};
  CHECK(c.get("/nothing-here").result_int() == 404);
  CHECK(c.get("/metrics/x").result_int() == 404);
  // The requests above were counted by route pattern and status (a scrape
  // counts once answered, so the second sees only the first).
  body = scrape(n);
  CHECK(body.find("coactor_http_server_requests_total{route=\"/metrics\","
                  "status=\"200\"} 1\n")
        != std::string::npos);
  CHECK(body.find("coactor_http_server_requests_total{route=\"none\","
                  "status=\"404\"} 2\n")
        != std::string::npos);
  CHECK(body.find("coactor_http_server_open_connections ")
        != std::string::npos);
}

TEST_CASE("HTTP servers record each request's duration by route pattern",
          "[http][metrics]") {
  auto n = make_metrics_node();
  auto srv = coactor::testing::start_server(
      n, http::router{}
             .route("GET", "/kv/*",
                    [](const http::request&) {
                      return http::response::text(200, "v");
                    })
             .route("GET", "/slow", slow_200ms));
  raw_client c{srv.port()};
  for (int i = 0; i < 5; ++i)
    REQUIRE(c.get("/kv/k" + std::to_string(i)).result_int() == 200);
  REQUIRE(c.get("/slow").result_int() == 200);
  REQUIRE(c.get("/none-here").result_int() == 404);
  REQUIRE(c.get("/none-here").result_int() == 404);
  auto body = scrape(n);
  const std::string name = "coactor_http_server_request_duration_seconds";
  CHECK(body.find("# TYPE " + name + " histogram\n") != std::string::npos);
  CHECK(body.find(name + "_count{route=\"/kv/*\"} 5\n") != std::string::npos);
  CHECK(body.find(name + "_count{route=\"none\"} 2\n") != std::string::npos);
  CHECK(body.find("coactor_http_server_requests_total{route=\"/kv/*\","
                  "status=\"200\"} 5\n")
        != std::string::npos);
  // The duration covers the handler: 200 ms is above the 0.1 s bucket.
  CHECK(body.find(name + "_bucket{route=\"/slow\",le=\"0.1\"} 0\n")
        != std::string::npos);
  CHECK(body.find(name + "_count{route=\"/slow\"} 1\n") != std::string::npos);
}

TEST_CASE("with node_options::metrics off, HTTP servers register no families",
          "[http][metrics]") {
  coactor::node_options opts;
  opts.metrics = false;
  auto n = make_metrics_node(opts);
  auto srv = coactor::testing::start_server(
      n, http::router{}.route("GET", "/hello", coactor::testing::hello));
  REQUIRE(coactor::testing::get_once(srv.port(), "/hello").result_int() == 200);
  scrape(n);
  auto body = scrape(n); // served and answered, yet not counted
  CHECK(body.find("coactor_node_uptime_seconds") != std::string::npos);
  CHECK(body.find("coactor_http_server") == std::string::npos);
}

TEST_CASE("a node whose metrics port is taken fails to start",
          "[http][metrics]") {
  auto first = make_metrics_node();
  coactor::node_options opts;
  opts.metrics_port = *metrics::endpoint_port(first);
  opts.log_level = coactor::log::level::off;
  auto second = coactor::node::create(opts);
  REQUIRE_FALSE(second);
  CHECK(coactor::is(second.error(), coactor::errc::io_error));
}

TEST_CASE("pipeline stages publish their counts to the node's metrics",
          "[http][metrics]") {
  auto n = make_metrics_node();
  auto summary = run_pipeline(n, 5000);
  auto& sink = summary.stages.back();
  REQUIRE(sink.out == 5000);
  auto body = scrape(n);
  auto line = "coactor_pipeline_stage_items_out_total{stage=\"" + sink.name
              + "\",kind=\"" + sink.kind + "\"} 5000\n";
  CHECK(body.find(line) != std::string::npos);
  // The sink's emit-to-consume latency, one sample per item.
  auto latency
      = "coactor_pipeline_latency_seconds_count{stage=\"" + sink.name + "\"} ";
  CHECK(body.find(latency + "5000\n") != std::string::npos);
  CHECK(body.find("coactor_pipeline_latency_seconds_bucket{stage=\"" + sink.name
                  + "\",le=\"+Inf\"} 5000\n")
        != std::string::npos);
  // A second run of the same stages adds up: counters never go back.
  run_pipeline(n, 1000);
  body = scrape(n);
  CHECK(body.find("coactor_pipeline_stage_items_out_total{stage=\"" + sink.name
                  + "\",kind=\"" + sink.kind + "\"} 6000\n")
        != std::string::npos);
  CHECK(body.find("coactor_pipeline_runs_total 2\n") != std::string::npos);
  CHECK(body.find(latency + "6000\n") != std::string::npos);
}

TEST_CASE("promtool check metrics accepts the endpoint's output",
          "[http][metrics]") {
  REQUIRE(fs::exists("/usr/bin/promtool")); // scripts/dev deps installs it
  auto n = make_metrics_node();
  auto& reg = metrics::of(n);
  auto hist = reg.add_histogram("test_wait_seconds", "Waits \\ with\nescapes.",
                                {"kind"}, {0.001, 0.01, 0.1, 1});
  REQUIRE(hist);
  auto h = (*hist)->get({"quote \" backslash \\ newline \n end"});
  REQUIRE(h);
  (*h)->observe(0.005);
  (*h)->observe(3);
  run_pipeline(n, 100);
  temp_dir dir;
  auto file = dir.path / "metrics.txt";
  std::ofstream{file} << scrape(n);
  auto report = dir.path / "promtool.txt";
  auto cmd = "/usr/bin/promtool check metrics < '" + file.string() + "' > '"
             + report.string() + "' 2>&1";
  auto status = std::system(cmd.c_str());
  std::ifstream in{report};
  std::string said{std::istreambuf_iterator<char>{in}, {}};
  INFO("promtool said: " << said);
  CHECK(status == 0);
  CHECK(said.empty()); // no lint problem either
}

TEST_CASE("a real Prometheus scrapes the node and reports the stage counter",
          "[http][metrics][integration]") {
  REQUIRE(fs::exists("/usr/bin/prometheus")); // scripts/dev deps installs it
  auto n = make_metrics_node();
  auto summary = run_pipeline(n, 4321);
  auto& sink = summary.stages.back();
  REQUIRE(sink.out == 4321);
  temp_dir dir;
  auto config = dir.path / "prometheus.yml";
  std::ofstream{config} << "global:\n  scrape_interval: 200ms\n"
                        << "scrape_configs:\n  - job_name: coactor\n"
                        << "    static_configs:\n      - targets: ['127.0.0.1:"
                        << *metrics::endpoint_port(n) << "']\n";
  auto port = free_port();
  auto prom = coactor::testing::child_process::start(
      {"/usr/bin/prometheus", "--config.file=" + config.string(),
       "--storage.tsdb.path=" + (dir.path / "data").string(),
       "--web.listen-address=127.0.0.1:" + std::to_string(port),
       "--log.level=error"});
  REQUIRE(prom);
  auto query = "coactor_pipeline_stage_items_out_total{stage=\"" + sink.name
               + "\",job=\"coactor\"}";
  // The query goes in the URL: percent-encode what is not a plain character.
  std::string encoded;
  for (unsigned char c : query) {
    if (std::isalnum(c) || c == '_' || c == '-' || c == '.')
      encoded += static_cast<char>(c);
    else
      encoded += fmt::format("%{:02X}", c);
  }
  auto url = "http://127.0.0.1:" + std::to_string(port)
             + "/api/v1/query?query=" + encoded;
  std::promise<std::string> seen;
  auto fut = seen.get_future();
  n.spawn(poll_actor, url, std::to_string(sink.out),
          std::chrono::steady_clock::now() + 60s, &seen);
  REQUIRE(fut.wait_for(90s) == std::future_status::ready);
  CHECK(fut.get() == std::to_string(sink.out));
}
