// Tests of the node's status document (`/status.json`) and status page: a
// running pipeline with its stages, edges and a rate, named and published
// actors, peers going down, sections of one's own, and the page rendered by
// a real headless Chromium.
#include "coactor/status.hpp"

#include <chrono>
#include <filesystem>
#include <future>
#include <regex>
#include <stdexcept>
#include <string>

#include <caf/event_based_actor.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "coactor/actors/pipeline.hpp"
#include "coactor/remote.hpp"
#include "metrics_support.hpp"
#include "server_support.hpp"
#include "support/child_process.hpp"
#include "support/networked.hpp"

using namespace std::chrono_literals;
namespace metrics = coactor::metrics;
namespace status = coactor::status;
using coactor::testing::make_metrics_node;
using coactor::testing::raw_client;
using coactor::testing::temp_dir;
using json = nlohmann::json;

namespace {

json status_json(coactor::node& n) {
  raw_client c{*metrics::endpoint_port(n)};
  auto res = c.get("/status.json");
  REQUIRE(res.result_int() == 200);
  CHECK(std::string{res[boost::beast::http::field::content_type]}
        == "application/json");
  auto doc = json::parse(res.body(), nullptr, false);
  REQUIRE_FALSE(doc.is_discarded());
  return doc;
}

// Asks for the status document until `pred` holds for it, at most `timeout`
// (each round is one HTTP request: no sleep).
template <class Pred>
json status_when(coactor::node& n, Pred pred, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto doc = status_json(n);
  while (!pred(doc) && std::chrono::steady_clock::now() < deadline)
    doc = status_json(n);
  INFO("last status: " << doc.dump(2));
  REQUIRE(pred(doc));
  return doc;
}

// A pipeline that runs until cancelled: numbers through a buffer into a
// counter.
struct endless {
  coactor::actors::running_pipeline run;
  std::promise<void> done;

  explicit endless(coactor::node& n) {
    using namespace coactor::actors;
    auto started = pipeline(n)
                       .from(iota(int64_t{0}, int64_t{1} << 40))
                       .via(buffer({.capacity = 64}))
                       .to(counter())
                       .start([this](auto) { done.set_value(); });
    REQUIRE(started);
    run = std::move(*started);
  }

  ~endless() {
    run.cancel();
    done.get_future().wait();
  }
};

bool flowing(const json& doc) {
  return doc["pipelines"].size() == 1
         && doc["pipelines"][0]["stages"].back()["out"].get<uint64_t>() > 0;
}

} // namespace

TEST_CASE("/status.json shows the node and a running pipeline as a graph",
          "[http][status]") {
  auto n = make_metrics_node();
  auto doc = status_json(n);
  CHECK(doc["node"]["name"] == n.options().name);
  CHECK(doc["node"]["scheduler_threads"] == 2);
  CHECK(doc["pipelines"].empty());
  {
    endless p{n};
    doc = status_when(n, flowing, 30s);
    auto& pl = doc["pipelines"][0];
    auto& stages = pl["stages"];
    REQUIRE(stages.size() == 3);
    CHECK(stages[0]["kind"] == "producer");
    CHECK(stages[1]["kind"] == "buffer");
    CHECK(stages[1]["capacity"] == 64);
    CHECK(stages[1]["buffered"].get<uint64_t>() <= 64);
    CHECK(stages[2]["kind"] == "consumer");
    CHECK(stages[2]["rate"].get<double>() > 0);
    // Source -> buffer -> sink, by name.
    auto name = [&](int i) {
      return stages[i]["name"].get<std::string>();
    };
    CHECK(pl["edges"] == json::array({{name(0), name(1)}, {name(1), name(2)}}));
    CHECK(doc["node"]["actors_alive"].get<uint64_t>() >= 4);
  }
  // A completed pipeline is no longer shown.
  CHECK(status_json(n)["pipelines"].empty());
}

TEST_CASE("sections of one's own appear until their handle goes",
          "[http][status]") {
  auto n = make_metrics_node();
  auto calls = 0;
  auto h = status::add(n, "jobs", [&calls] {
    return json{{"job", "import"}, {"calls", ++calls}};
  });
  auto many = status::add(n, "jobs", [] {
    return json::array({{{"job", "a"}}, {{"job", "b"}}});
  });
  auto bad = status::add(
      n, "jobs", []() -> json { throw std::runtime_error("disk gone"); });
  auto reserved = status::add(n, "node", [] { return json{1}; });
  auto doc = status_json(n);
  CHECK(doc["node"].is_object());   // "node" is not a section
  REQUIRE(doc["jobs"].size() == 4); // one, two spliced, one error
  CHECK(doc["jobs"][0] == json{{"job", "import"}, {"calls", 1}});
  CHECK(doc["jobs"][1]["job"] == "a");
  CHECK(doc["jobs"][2]["job"] == "b");
  CHECK(doc["jobs"][3]["error"].get<std::string>().find("disk gone")
        != std::string::npos);
  h.reset();
  many.reset();
  bad.reset();
  CHECK(status_json(n)["jobs"].empty());
  CHECK(calls == 1);
}

TEST_CASE("peers and published actors show with their state",
          "[http][status][remote]") {
  auto a = make_metrics_node(coactor::testing::net_options("a"));
  auto echo = a.spawn([](caf::event_based_actor*) -> caf::behavior {
    return {[](int x) {
      return x;
    }};
  });
  REQUIRE_FALSE(coactor::remote::publish(a, "echo", echo));
  auto doc = status_json(a);
  auto published = [](const json& d) {
    for (auto& x : d["actors"])
      if (x["name"] == "echo" && x["how"] == "published")
        return true;
    return false;
  };
  CHECK(published(doc));
  CHECK(doc["peers"].empty());
  {
    auto b = coactor::node::create(coactor::testing::net_options("b", false));
    REQUIRE(b);
    auto port = coactor::remote::port(a);
    REQUIRE(port);
    REQUIRE(coactor::remote::connect(*b, "127.0.0.1", *port));
    doc = status_when(
        a,
        [](const json& d) {
          return d["peers"].size() == 1 && d["peers"][0]["state"] == "up";
        },
        10s);
    CHECK(doc["peers"][0]["node"].get<std::string>().find("'b'")
          != std::string::npos);
    // The same in the metrics, and b's one successful connection attempt.
    auto text = coactor::metrics::of(a).to_prometheus();
    CHECK(text.find("\ncoactor_remote_peers{state=\"up\"} 1\n")
          != std::string::npos);
    text = coactor::metrics::of(*b).to_prometheus();
    CHECK(text.find("\ncoactor_remote_connect_attempts_total{outcome=\"ok\"} "
                    "1\n")
          != std::string::npos);
  } // b stops: a loses it
  status_when(
      a, [](const json& d) { return d["peers"][0]["state"] == "down"; }, 20s);
  auto text = coactor::metrics::of(a).to_prometheus();
  CHECK(text.find("\ncoactor_remote_peers{state=\"down\"} 1\n")
        != std::string::npos);
  CHECK(text.find("\ncoactor_remote_peers{state=\"up\"} 0\n")
        != std::string::npos);
}

TEST_CASE("headless Chromium renders the status page of a running pipeline",
          "[http][status][integration]") {
  REQUIRE(std::filesystem::exists("/usr/bin/chromium")); // scripts/dev deps
  auto n = make_metrics_node();
  endless p{n};
  auto doc = status_when(n, flowing, 30s);
  auto sink = doc["pipelines"][0]["stages"].back()["name"].get<std::string>();
  temp_dir profile;
  auto url
      = "http://127.0.0.1:" + std::to_string(*metrics::endpoint_port(n)) + "/";
  // The virtual time budget lets the page's fetch and first render finish
  // before the DOM is dumped.
  auto chrome = coactor::testing::child_process::start(
      {"/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
       "--disable-dev-shm-usage", "--no-first-run", "--log-level=3",
       "--user-data-dir=" + profile.path.string(), "--virtual-time-budget=5000",
       "--dump-dom", url});
  REQUIRE(chrome);
  auto rendered = chrome->wait_for_line(std::regex{"</html>"}, 120s);
  INFO("DOM: " << chrome->output());
  REQUIRE(rendered);
  auto dom = chrome->output();
  CHECK(dom.find("coactor node " + n.options().name) != std::string::npos);
  CHECK(dom.find("data-stage=\"" + sink + "\"") != std::string::npos);
  CHECK(dom.find("data-stage=\"buffer\"") != std::string::npos);
  // Some stage shows a rate above zero.
  std::regex rate{R"re(class="rate" data-rate="([0-9.e+]+)")re"};
  bool moving = false;
  for (std::sregex_iterator i{dom.begin(), dom.end(), rate}, end; i != end; ++i)
    moving = moving || std::stod((*i)[1]) > 0;
  CHECK(moving);
  auto exit = chrome->wait_exit(30s);
  CHECK(exit);
}
