// The `restart` key of stages and the sink: restart_on_failure from a spec,
// its validation, and the restart limit.
#include <atomic>

#include <catch2/catch.hpp>

#include "spec/spec_support.hpp"

using namespace coactor;
using namespace coactor::testing;
using Catch::Matchers::Contains;

namespace {

// Failures left before `flaky` pieces pass: shared by every copy and every
// restarted function, so a restart gets past them.
struct flakiness {
  std::atomic<int> left{0};

  caf::error check(const std::vector<spec::item>& xs, const std::string& bad) {
    for (auto& x : xs)
      if (x == bad && left.fetch_sub(1) > 0)
        return make_error(errc::invalid_argument, "flaky on '" + x + "'");
    return {};
  }
};

// The test registry plus a `flaky` stage and a `flaky` sink that fail on
// the item `fail_on` while `f->left` failures remain.
spec::registry flaky_registry(std::shared_ptr<collected> into,
                              std::shared_ptr<flakiness> f) {
  auto r = test_registry(into);
  r.add_stage("flaky", spec::item_kind::text, "test stage",
              [f](spec::options& opts) {
                auto bad = opts.required_string("fail_on");
                spec::stage_part s;
                s.output = opts.input();
                s.make = [f, bad] {
                  spec::transform t;
                  t.on_batch = [f, bad](std::vector<spec::item>& in,
                                        std::vector<spec::item>& out) {
                    if (auto err = f->check(in, bad))
                      return err;
                    out.swap(in);
                    return caf::error{};
                  };
                  return t;
                };
                return s;
              });
  r.add_sink("flaky", spec::item_kind::text, "test sink",
             [f, into](spec::options& opts) {
               auto bad = opts.required_string("fail_on");
               spec::sink_part s;
               s.make = [f, into, bad]() -> spec::sink_fn {
                 return [f, into, bad](std::vector<spec::item>& xs) {
                   if (auto err = f->check(xs, bad))
                     return err;
                   std::lock_guard<std::mutex> guard{into->mtx};
                   into->items.insert(into->items.end(), xs.begin(), xs.end());
                   return caf::error{};
                 };
               };
               return s;
             });
  return r;
}

spec_run run_flaky(const std::string& text, int failures) {
  auto into = std::make_shared<collected>();
  auto f = std::make_shared<flakiness>();
  f->left = failures;
  return run_with(text, flaky_registry(into, f), into);
}

const std::string ten = "[[source]]\nkind = \"numbers\"\nto = 10\n"
                        "max_batch = 1\n";

std::vector<std::string> zero_to_nine() {
  std::vector<std::string> xs;
  for (int i = 0; i < 10; ++i)
    xs.push_back(std::to_string(i));
  return xs;
}

} // namespace

TEST_CASE("a stage with restart survives failures within the intensity",
          "[spec]") {
  auto r = run_flaky(ten
                         + "[[stage]]\nname = \"f\"\nkind = \"flaky\"\n"
                           "fail_on = \"4\"\n"
                           "restart = { intensity = 3, period_ms = 60000 }\n"
                           "[sink]\nkind = \"collect\"\n",
                     2);
  INFO((r.summary ? std::string{} : describe(r.summary.error())));
  REQUIRE(r.summary);
  CHECK(r.items == zero_to_nine());
  CHECK(r.summary->restarts == 2);
  auto* f = r.summary->stage("f");
  REQUIRE(f != nullptr);
  CHECK(f->restarts == 2);
  CHECK_THAT(r.summary->to_string(), Contains("restarts after failures: 2"));
}

TEST_CASE("a stage failing more often than its intensity fails the run with "
          "restart_limit",
          "[spec]") {
  auto r = run_flaky(ten
                         + "[[stage]]\nname = \"f\"\nkind = \"flaky\"\n"
                           "fail_on = \"4\"\nrestart = { intensity = 2 }\n"
                           "[sink]\nkind = \"collect\"\n",
                     3);
  REQUIRE_FALSE(r.summary);
  CHECK(is(r.summary.error(), errc::restart_limit));
  CHECK_THAT(describe(r.summary.error()),
             Contains("'f'") && Contains("failed more than 2 times"));
}

TEST_CASE("a stage without restart fails at its first failure", "[spec]") {
  auto r = run_flaky(ten
                         + "[[stage]]\nkind = \"flaky\"\nfail_on = \"4\"\n"
                           "[sink]\nkind = \"collect\"\n",
                     1);
  REQUIRE_FALSE(r.summary);
  CHECK(is(r.summary.error(), errc::stage_failed));
}

TEST_CASE("the sink restarts too", "[spec]") {
  auto r = run_flaky(ten
                         + "[sink]\nname = \"out\"\nkind = \"flaky\"\n"
                           "fail_on = \"7\"\nrestart = { intensity = 1 }\n",
                     1);
  INFO((r.summary ? std::string{} : describe(r.summary.error())));
  REQUIRE(r.summary);
  CHECK(r.items == zero_to_nine());
  CHECK(r.summary->restarts == 1);
}

TEST_CASE("restart is validated with located errors", "[spec]") {
  auto spec = [](const std::string& restart) {
    return one_stage_spec("s", "lowercase", restart + "\n");
  };
  auto d = first_error(spec("restart = 3"), "restart");
  CHECK(d.to_string()
        == "t.toml:7:11: stage 's': option 'restart': expected a table { "
           "intensity = N, period_ms = MS }, got an integer");
  d = first_error(spec("restart = { intensity = 0 }"), "restart");
  CHECK(d.to_string()
        == "t.toml:7:25: stage 's': option 'restart.intensity': expected an "
           "integer >= 1, got 0");
  d = first_error(spec("restart = { intensity = 2, period_ms = \"1s\" }"),
                  "restart");
  CHECK(d.to_string()
        == "t.toml:7:40: stage 's': option 'restart.period_ms': expected an "
           "integer >= 1, got a string");
  d = first_error(spec("restart = { period_ms = 10 }"), "restart");
  CHECK(d.to_string()
        == "t.toml:7:11: stage 's': option 'restart': missing 'intensity' (an "
           "integer >= 1, the restarts allowed within period_ms)");
  d = first_error(spec("restart = { intensty = 2 }"), "unknown key");
  CHECK(d.to_string()
        == "t.toml:7:13: stage 's': option 'restart': unknown key 'intensty' "
           "(did you mean 'intensity'?); expected intensity, period_ms");
  d = first_error("[[source]]\nkind = \"numbers\"\nto = 3\nrestart = { "
                  "intensity = 1 }\n[sink]\nkind = \"collect\"\n",
                  "restart");
  CHECK(d.line == 4);
  CHECK_THAT(d.message, Contains("a source does not restart"));
}

TEST_CASE("the plan shows a piece's restart policy", "[spec]") {
  auto r = parse_text("[[source]]\nkind = \"numbers\"\nto = 3\n[sink]\n"
                      "kind = \"collect\"\nrestart = { intensity = 4, "
                      "period_ms = 250 }\n",
                      test_registry(std::make_shared<collected>()));
  INFO(errors_of(r));
  REQUIRE(r.ok());
  CHECK(r.get().sink.restarts.intensity == 4);
  CHECK(r.get().sink.restarts.period == std::chrono::milliseconds{250});
  CHECK_THAT(r.get().to_string(),
             Contains("restart = \"intensity 4 within 250 ms\""));
}
