#include "coactor/node_options.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "coactor/error.hpp"
#include "coactor/node.hpp"

using namespace coactor;

namespace {

// A file under the build's temp dir, removed again at scope exit.
struct temp_file {
  explicit temp_file(const std::string& content) {
    char tmpl[] = "/tmp/coactor-options-XXXXXX";
    int fd = ::mkstemp(tmpl);
    REQUIRE(fd >= 0);
    path = tmpl;
    std::ofstream{path} << content;
    ::close(fd);
  }
  ~temp_file() { std::remove(path.c_str()); }
  std::string path;
};

caf::expected<node_options> parse(std::vector<const char*> args) {
  return node_options::from_args(std::span<const char* const>{args});
}

} // namespace

TEST_CASE("the defaults are valid and use one thread per core", "[framework]") {
  node_options opts;
  CHECK_FALSE(opts.validate());
  CHECK(opts.threads == default_threads());
  CHECK(opts.policy == scheduler_policy::automatic);
}

TEST_CASE("the automatic scheduler is balanced for a plain node and sharing "
          "for a networked one, an explicit policy is kept",
          "[framework]") {
  node_options opts;
  CHECK(opts.effective_policy() == scheduler_policy::balanced);
  opts.networking = true;
  CHECK(opts.effective_policy() == scheduler_policy::sharing);
  opts.policy = scheduler_policy::balanced;
  CHECK(opts.effective_policy() == scheduler_policy::balanced);
  auto parsed = parse_scheduler_policy("auto");
  REQUIRE(parsed);
  CHECK(*parsed == scheduler_policy::automatic);
  CHECK(to_string(scheduler_policy::automatic) == "auto");
  // A node reports the policy it runs.
  node_options plain;
  plain.threads = 1;
  plain.log_level = log::level::warn;
  auto n = node::create(plain);
  REQUIRE(n);
  CHECK(n->options().policy == scheduler_policy::balanced);
}

TEST_CASE("zero threads is rejected with a clear error", "[framework]") {
  node_options opts;
  opts.threads = 0;
  auto err = opts.validate();
  REQUIRE(is(err, errc::invalid_argument));
  CHECK(context_of(err).find("threads") != std::string::npos);
  auto n = node::create(opts);
  REQUIRE_FALSE(n);
  CHECK(is(n.error(), errc::invalid_argument));
}

TEST_CASE("command-line options are parsed in both spellings", "[framework]") {
  auto opts = parse({"--threads=3", "--name", "edge", "--log-level=debug",
                     "--scheduler", "stealing", "--handle-signals",
                     "--stop-timeout-ms=250"});
  REQUIRE(opts);
  CHECK(opts->threads == 3);
  CHECK(opts->name == "edge");
  CHECK(opts->log_level == log::level::debug);
  CHECK(opts->policy == scheduler_policy::stealing);
  CHECK(opts->handle_signals);
  CHECK(opts->stop_timeout == std::chrono::milliseconds{250});
}

TEST_CASE("an unknown log level is an error naming the level", "[framework]") {
  auto opts = parse({"--log-level=loud"});
  REQUIRE_FALSE(opts);
  CHECK(is(opts.error(), errc::invalid_argument));
  CHECK(context_of(opts.error()).find("'loud'") != std::string::npos);
}

TEST_CASE("bad command-line arguments are errors naming them", "[framework]") {
  SECTION("unknown option") {
    auto opts = parse({"--frobnicate=1"});
    REQUIRE_FALSE(opts);
    CHECK(context_of(opts.error()).find("frobnicate") != std::string::npos);
  }
  SECTION("not a number") {
    auto opts = parse({"--threads=many"});
    REQUIRE_FALSE(opts);
    CHECK(context_of(opts.error()).find("'many'") != std::string::npos);
  }
  SECTION("missing value") {
    auto opts = parse({"--threads"});
    REQUIRE_FALSE(opts);
    CHECK(context_of(opts.error()).find("missing value") != std::string::npos);
  }
  SECTION("positional argument") {
    auto opts = parse({"stray"});
    REQUIRE_FALSE(opts);
    CHECK(context_of(opts.error()).find("stray") != std::string::npos);
  }
}

TEST_CASE("a config file sets options and later arguments override it",
          "[framework]") {
  temp_file file{"[node]\nname = \"from-file\"\nthreads = 2\n"
                 "log-level = \"warn\"\n"};
  auto opts = parse({"--config", file.path.c_str(), "--threads=5"});
  REQUIRE(opts);
  CHECK(opts->name == "from-file");
  CHECK(opts->threads == 5);
  CHECK(opts->log_level == log::level::warn);
}

TEST_CASE("an unreadable config file is an error naming the file",
          "[framework]") {
  auto opts = node_options::from_file("/nonexistent/coactor.toml");
  REQUIRE_FALSE(opts);
  CHECK(is(opts.error(), errc::invalid_config));
  CHECK(context_of(opts.error()).find("/nonexistent/coactor.toml")
        != std::string::npos);
}

TEST_CASE("a malformed config file is an error naming file and line",
          "[framework]") {
  temp_file file{"[node]\nthreads = 2\nname = \n"};
  auto opts = node_options::from_file(file.path);
  REQUIRE_FALSE(opts);
  CHECK(is(opts.error(), errc::invalid_config));
  CHECK(context_of(opts.error()).find(file.path + ":3") != std::string::npos);
}

TEST_CASE("a bad value in a config file names the key and line",
          "[framework]") {
  temp_file file{"[node]\nname = \"x\"\nlog-level = \"chatty\"\n"};
  auto opts = node_options::from_file(file.path);
  REQUIRE_FALSE(opts);
  auto ctx = context_of(opts.error());
  CHECK(ctx.find(file.path + ":3") != std::string::npos);
  CHECK(ctx.find("log-level") != std::string::npos);
  CHECK(ctx.find("'chatty'") != std::string::npos);
}

TEST_CASE("a bad COACTOR_LOG_LEVEL makes node creation fail clearly",
          "[framework]") {
  ::setenv("COACTOR_LOG_LEVEL", "shouty", 1);
  auto n = node::create();
  ::unsetenv("COACTOR_LOG_LEVEL");
  REQUIRE_FALSE(n);
  CHECK(is(n.error(), errc::invalid_config));
  CHECK(context_of(n.error()).find("COACTOR_LOG_LEVEL") != std::string::npos);
}

TEST_CASE("networking options parse from the command line", "[framework]") {
  auto opts = parse({"--host", "0.0.0.0", "--port=4242", "--heartbeat-ms",
                     "100", "--connection-timeout-ms=500"});
  REQUIRE(opts);
  CHECK(opts->host == "0.0.0.0");
  REQUIRE(opts->port);
  CHECK(*opts->port == 4242);
  CHECK(opts->networked());
  CHECK_FALSE(opts->tls_enabled());
  CHECK(opts->heartbeat_interval == std::chrono::milliseconds{100});
  CHECK(opts->connection_timeout == std::chrono::milliseconds{500});
  CHECK_FALSE(opts->validate());
}

TEST_CASE("a plain node is not networked, --networking makes it so",
          "[framework]") {
  CHECK_FALSE(node_options{}.networked());
  auto opts = parse({"--networking"});
  REQUIRE(opts);
  CHECK(opts->networked());
}

TEST_CASE("built-in metrics are on unless --metrics=false", "[framework]") {
  CHECK(node_options{}.metrics);
  auto off = parse({"--metrics=false"});
  REQUIRE(off);
  CHECK_FALSE(off->metrics);
  auto on = parse({"--metrics=false", "--metrics"});
  REQUIRE(on);
  CHECK(on->metrics);
  auto bad = parse({"--metrics=maybe"});
  REQUIRE_FALSE(bad);
  CHECK(context_of(bad.error()).find("metrics") != std::string::npos);
}

TEST_CASE("bad networking options are refused, naming the option",
          "[framework]") {
  auto big = parse({"--port", "70000"});
  REQUIRE_FALSE(big);
  CHECK_THAT(context_of(big.error()), Catch::Contains("port"));
  auto neg = parse({"--port", "-1"});
  REQUIRE_FALSE(neg);
  node_options opts;
  opts.heartbeat_interval = std::chrono::milliseconds{500};
  opts.connection_timeout = std::chrono::milliseconds{600};
  CHECK_THAT(context_of(opts.validate()),
             Catch::Contains("connection-timeout-ms"));
  node_options tls;
  tls.tls_certificate = "/nonexistent/cert.pem";
  CHECK_THAT(context_of(tls.validate()), Catch::Contains("tls-key"));
  tls.tls_key = "/nonexistent/key.pem";
  CHECK_THAT(context_of(tls.validate()), Catch::Contains("cannot read"));
  node_options ca_only;
  ca_only.tls_ca = "/etc/hostname";
  CHECK_THAT(context_of(ca_only.validate()), Catch::Contains("tls-ca"));
}

TEST_CASE("networking options parse from a TOML file", "[framework]") {
  temp_file f{"[node]\nhost = \"127.0.0.2\"\nport = 0\nnetworking = true\n"};
  auto opts = node_options::from_file(f.path);
  REQUIRE(opts);
  CHECK(opts->host == "127.0.0.2");
  REQUIRE(opts->port);
  CHECK(*opts->port == 0);
  temp_file bad{"[node]\nport = 123456\n"};
  auto err = node_options::from_file(bad.path);
  REQUIRE_FALSE(err);
  CHECK_THAT(context_of(err.error()), Catch::Contains("port"));
}

TEST_CASE("io-threads parses from the command line and a file, and 0 is "
          "refused",
          "[framework]") {
  CHECK(node_options{}.io_threads == 1);
  auto opts = parse({"--io-threads=3"});
  REQUIRE(opts);
  CHECK(opts->io_threads == 3);
  temp_file file{"[node]\nio-threads = 2\n"};
  auto from_file = node_options::from_file(file.path);
  REQUIRE(from_file);
  CHECK(from_file->io_threads == 2);
  // Parsing takes any count; validation (node::create runs it) refuses 0.
  auto zero = parse({"--io-threads", "0"});
  REQUIRE(zero);
  auto err = zero->validate();
  CHECK(coactor::is(err, errc::invalid_argument));
  CHECK(context_of(err).find("io-threads") != std::string::npos);
}
