// Ten concurrent HTTP fetches from a local server whose pages take different
// times, plus one URL that fails: with coactor::gather the total is about the
// slowest page, not the sum, and the failure is reported as its error.
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

// GET /page/N answers after N * 50 ms: a coroutine handler that sleeps
// without blocking its actor, so the server answers all pages at once.
coactor::task<http::response> page(caf::event_based_actor* self,
                                   http::request req) {
  auto n = std::stoi(std::string{req.path().substr(6)}); // after "/page/"
  co_await coactor::sleep(self, std::chrono::milliseconds{50 * n});
  co_return http::response::text(200,
                                 "<html>page " + std::to_string(n) + "</html>");
}

using get_awaitable = decltype(http::get(nullptr, std::string{}, 1s));

struct report {
  std::vector<caf::expected<http::response>> pages;
  clock_type::duration total;
};

coactor::task<report> fetch_all(caf::event_based_actor* self,
                                std::vector<std::string> urls) {
  std::vector<get_awaitable> fetches;
  for (auto& url : urls)
    fetches.push_back(http::get(self, url, 5s));
  auto start = clock_type::now();
  auto pages = co_await coactor::gather(std::move(fetches));
  co_return report{std::move(pages), clock_type::now() - start};
}

caf::behavior client(caf::event_based_actor* self,
                     std::vector<std::string> urls,
                     std::promise<caf::expected<report>>* done) {
  coactor::start(self, fetch_all(self, std::move(urls)),
                 [done](caf::expected<report> r) { done->set_value(r); });
  return {};
}

long ms(clock_type::duration d) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
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
  routes.route("GET", "/page/*", page);
  auto server = http::serve(*node, {}, std::move(routes));
  if (!server) {
    std::fprintf(stderr, "%s\n", coactor::describe(server.error()).c_str());
    return 1;
  }
  std::vector<std::string> urls;
  long sum = 0;
  for (int i = 1; i <= 10; ++i) {
    urls.push_back(server->url() + "/page/" + std::to_string(i));
    sum += 50 * i;
  }
  // Nothing listens on port 1 of the loopback: this fetch fails.
  urls.push_back("http://127.0.0.1:1/unreachable");
  std::promise<caf::expected<report>> done;
  auto result = done.get_future();
  node->spawn(client, urls, &done);
  if (result.wait_for(10s) != std::future_status::ready) {
    std::puts("no result within 10 s");
    return 1;
  }
  auto r = result.get();
  if (!r) {
    std::printf("failed: %s\n", coactor::describe(r.error()).c_str());
    return 1;
  }
  std::size_t ok = 0;
  for (std::size_t i = 0; i < r->pages.size(); ++i) {
    auto& p = r->pages[i];
    if (p)
      std::printf("%s -> %u %s\n", urls[i].c_str(), p->status, p->body.c_str());
    else
      std::printf("%s -> error: %s\n", urls[i].c_str(),
                  coactor::describe(p.error()).c_str());
    ok += p && p->status == 200 ? 1 : 0;
  }
  bool concurrent = ms(r->total) < sum;
  std::printf("gathered %zu of %zu pages in %ld ms (slowest page 500 ms, sum "
              "of delays %ld ms): concurrent: %s\n",
              ok, r->pages.size(), ms(r->total), sum,
              concurrent ? "yes" : "no");
  server->stop(1s);
  bool failed_shown = !r->pages.back();
  return ok == 10 && failed_shown && concurrent ? 0 : 1;
}
