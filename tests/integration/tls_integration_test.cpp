// TLS between nodes in separate processes: a peer with a certificate signed
// by the configured CA connects; one without cannot.
#include "coactor/remote.hpp"

#include <cstdlib>
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include "coactor/error.hpp"
#include "integration_support.hpp"

using namespace coactor;
using namespace coactor::testing::integration;

namespace {

// A temporary directory with a CA, a node certificate signed by it and a
// self-signed "rogue" certificate, made with the openssl command-line tool.
struct test_pki {
  test_pki() {
    char tmpl[] = "/tmp/coactor-tls-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    auto run = [&](const std::string& args) {
      auto cmd = std::string{COACTOR_OPENSSL} + " " + args + " 2>/dev/null";
      INFO(cmd);
      REQUIRE(std::system(cmd.c_str()) == 0);
    };
    run("req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=coactor-test-ca"
        " -keyout "
        + path("ca.key") + " -out " + path("ca.pem"));
    run("req -newkey rsa:2048 -nodes -subj /CN=node -keyout " + path("node.key")
        + " -out " + path("node.csr"));
    run("x509 -req -days 2 -in " + path("node.csr") + " -CA " + path("ca.pem")
        + " -CAkey " + path("ca.key") + " -CAcreateserial -out "
        + path("node.pem"));
    run("req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=rogue -keyout "
        + path("rogue.key") + " -out " + path("rogue.pem"));
  }
  ~test_pki() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string path(const std::string& file) const { return dir + "/" + file; }
  std::string dir;
};

std::vector<std::string> tls_args(const test_pki& pki) {
  return {"--tls-certificate",  pki.path("node.pem"), "--tls-key",
          pki.path("node.key"), "--tls-ca",           pki.path("ca.pem")};
}

remote::connect_options quick() {
  remote::connect_options opts;
  opts.attempts = 1;
  opts.attempt_timeout = std::chrono::seconds{10};
  return opts;
}

} // namespace

TEST_CASE("nodes with certificates signed by the CA talk over TLS",
          "[integration]") {
  test_pki pki;
  auto peer = start_peer(tls_args(pki));
  auto opts = client_options();
  opts.tls_certificate = pki.path("node.pem");
  opts.tls_key = pki.path("node.key");
  opts.tls_ca = pki.path("ca.pem");
  auto client = coactor::testing::make_node(opts);
  auto p = connect_ok(client, peer.port);
  auto echo = lookup_ok(client, p, "echo");
  auto fut = ask_from<std::string>(client, echo, 30s, std::string{"secret"});
  auto res = get_within(fut, 30s);
  INFO(why(res));
  REQUIRE(res);
  CHECK(*res == "secret");
}

TEST_CASE("a peer whose certificate the CA did not sign cannot connect",
          "[integration]") {
  test_pki pki;
  auto peer = start_peer(tls_args(pki));
  auto opts = client_options("rogue");
  opts.tls_certificate = pki.path("rogue.pem");
  opts.tls_key = pki.path("rogue.key");
  opts.tls_ca = pki.path("ca.pem");
  auto client = coactor::testing::make_node(opts);
  auto p = remote::connect(client, "127.0.0.1", peer.port, quick());
  REQUIRE_FALSE(p);
  CHECK((is(p.error(), errc::tls_failure)
         || is(p.error(), errc::connection_failed)));
  CHECK_THAT(context_of(p.error()),
             Catch::Contains("127.0.0.1:" + std::to_string(peer.port)));
  // The TLS node keeps serving peers with good certificates.
  auto good_opts = client_options("good");
  good_opts.tls_certificate = pki.path("node.pem");
  good_opts.tls_key = pki.path("node.key");
  good_opts.tls_ca = pki.path("ca.pem");
  auto good = coactor::testing::make_node(good_opts);
  auto q = connect_ok(good, peer.port);
  CHECK(q.name == "peer");
}

TEST_CASE("a peer without TLS cannot connect to a TLS node", "[integration]") {
  test_pki pki;
  auto peer = start_peer(tls_args(pki));
  auto client = coactor::testing::make_node(client_options("plain"));
  auto p = remote::connect(client, "127.0.0.1", peer.port, quick());
  REQUIRE_FALSE(p);
  CHECK(is(p.error(), errc::connection_failed));
}
