// A hundred users wait one second each on a two-thread node: the handler
// awaits `coactor::sleep` instead of blocking a thread, so all of them are
// answered in about one second in total, not a hundred.
#include <chrono>
#include <cstdio>
#include <future>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <coactor/coroutines.hpp>
#include <coactor/http/client.hpp>
#include <coactor/http/server.hpp>
#include <coactor/node.hpp>

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
namespace http = coactor::http;

namespace {

constexpr int users = 100;

// The slow handler: one second of waiting (a database, another service...).
coactor::task<http::response> slow(caf::event_based_actor* self,
                                   http::request req) {
  co_await coactor::sleep(self, 1s);
  co_return http::response::text(200, "hello, " + std::string{req.query()});
}

using fetch_awaitable = decltype(http::fetch(
    nullptr, std::string{}, http::request{}, http::client_options{}));

// Every user at once: one connection each (the pool's default limit per
// host would queue them, as a browser does).
coactor::task<std::size_t> visit(caf::event_based_actor* self,
                                 std::string base) {
  http::client_options opts;
  opts.timeout = 10s;
  opts.max_connections_per_host = users;
  std::vector<fetch_awaitable> calls;
  for (int i = 0; i < users; ++i)
    calls.push_back(http::fetch(self, base + "/slow?user" + std::to_string(i),
                                http::request{}, opts));
  auto replies = co_await coactor::gather(std::move(calls));
  std::size_t ok = 0;
  for (auto& r : replies)
    ok += r && r->status == 200 ? 1 : 0;
  co_return ok;
}

caf::behavior users_actor(caf::event_based_actor* self, std::string base,
                          std::promise<caf::expected<std::size_t>>* done) {
  coactor::start(self, visit(self, std::move(base)),
                 [done](caf::expected<std::size_t> n) { done->set_value(n); });
  return {};
}

} // namespace

int main() {
  coactor::node_options opts;
  opts.threads = 2;
  opts.log_level = coactor::log::level::warn;
  auto node = coactor::node::create(opts);
  if (!node) {
    std::fprintf(stderr, "%s\n", coactor::describe(node.error()).c_str());
    return 1;
  }
  http::router routes;
  routes.route("GET", "/slow", slow);
  http::server_options sopts;
  sopts.max_connections = 2 * users;
  auto server = http::serve(*node, sopts, std::move(routes));
  if (!server) {
    std::fprintf(stderr, "%s\n", coactor::describe(server.error()).c_str());
    return 1;
  }
  std::promise<caf::expected<std::size_t>> done;
  auto answered = done.get_future();
  auto start = clock_type::now();
  node->spawn(users_actor, server->url(), &done);
  if (answered.wait_for(30s) != std::future_status::ready) {
    std::puts("no result within 30 s");
    return 1;
  }
  auto n = answered.get();
  auto secs = std::chrono::duration<double>(clock_type::now() - start).count();
  server->stop(1s);
  if (!n) {
    std::printf("failed: %s\n", coactor::describe(n.error()).c_str());
    return 1;
  }
  std::printf("%zu of %d users answered in %.2f s on %zu scheduler threads "
              "(each request waits 1 s; one after the other: %d s)\n",
              *n, users, secs, node->options().threads, users);
  return *n == users ? 0 : 1;
}
