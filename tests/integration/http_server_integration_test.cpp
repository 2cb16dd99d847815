// The embedded server example (examples/server/kv_server.cpp) as a user runs
// it: a real process, driven by the real curl, stopped by SIGTERM.
#include <csignal>
#include <regex>
#include <string>
#include <vector>

#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/child_process.hpp"

using namespace std::chrono_literals;
using coactor::testing::child_process;
using json = nlohmann::json;

namespace {

struct reply {
  int status = 0;
  std::string body;
};

// Runs curl with `args` (after the common flags) and returns the HTTP status
// and body; status 0 when curl failed or did not finish within 10 s.
reply curl(std::vector<std::string> args) {
  std::vector<std::string> argv{COACTOR_CURL, "-sS", "-w",
                                "\n@@%{http_code}\n"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto p = child_process::start(argv);
  REQUIRE(p);
  auto m = p->wait_for_line(std::regex{"^@@([0-9]+)$"}, 10s);
  auto status = p->wait_exit(10s);
  CHECK(status);
  if (!m)
    return {};
  reply r;
  r.status = std::stoi((*m)[1]);
  const auto& out = p->output();
  r.body = out.substr(0, out.rfind("\n@@"));
  return r;
}

} // namespace

#ifdef COACTOR_EXAMPLE_KV_SERVER
TEST_CASE("the kv_server example serves its JSON API to curl and stops "
          "cleanly on SIGTERM",
          "[integration]") {
  auto server
      = child_process::start({COACTOR_EXAMPLE_KV_SERVER, "--log-level=warn"});
  REQUIRE(server);
  auto listening = server->wait_for_line(
      std::regex{"listening on (http://127\\.0\\.0\\.1:[0-9]+)"}, 20s);
  REQUIRE(listening);
  const std::string base = (*listening)[1];

  auto missing = curl({base + "/kv/color"});
  CHECK(missing.status == 404);
  CHECK(json::parse(missing.body)["error"] == "no such key");

  auto put = curl({"-X", "PUT", "--data", "blue", base + "/kv/color"});
  CHECK(put.status == 200);
  CHECK(json::parse(put.body)["keys"] == 1);

  auto got = curl({base + "/kv/color"});
  REQUIRE(got.status == 200);
  CHECK(json::parse(got.body) == json{{"key", "color"}, {"value", "blue"}});

  auto counted
      = curl({"--data", "The cat saw the dog; the dog ran.", base + "/words"});
  REQUIRE(counted.status == 200);
  CHECK(json::parse(counted.body)["words"] == 8);
  auto top = curl({base + "/words/top"});
  REQUIRE(top.status == 200);
  auto table = json::parse(top.body);
  CHECK(table["the"] == 3);
  CHECK(table["dog"] == 2);
  CHECK(table["cat"] == 1);

  auto del = curl({"-X", "DELETE", base + "/kv/color"});
  CHECK(del.status == 200);
  CHECK(curl({base + "/kv/color"}).status == 404);
  CHECK(curl({base + "/nothing-here"}).status == 404);
  CHECK(curl({"-X", "POST", base + "/kv/color"}).status == 405);

  server->signal(SIGTERM);
  REQUIRE(server->wait_for_line(std::regex{"served [0-9]+ requests; stopped "
                                           "cleanly"},
                                10s));
  auto status = server->wait_exit(10s);
  REQUIRE(status);
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
}
#endif
