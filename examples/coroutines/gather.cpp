// Ten concurrent "page fetches" from ten service actors with different
// latencies: with coactor::gather the total is about the slowest, not the sum.
#include <chrono>
#include <cstdio>
#include <future>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <coactor/coroutines.hpp>
#include <coactor/node.hpp>

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

// A "page" takes `latency` to produce: a coroutine handler that sleeps
// without blocking its actor (other requests are served meanwhile).
coactor::task<std::string> render(caf::event_based_actor* self,
                                  std::string name, caf::timespan latency,
                                  std::string path) {
  co_await coactor::sleep(self, latency);
  co_return "<html>" + name + path + "</html>";
}

caf::behavior service(caf::event_based_actor* self, std::string name,
                      caf::timespan latency) {
  return {[=](const std::string& path) {
    return coactor::respond(self, render(self, name, latency, path));
  }};
}

struct report {
  std::vector<caf::expected<std::string>> pages;
  clock_type::duration total;
};

// Fetches one page from every service at once.
coactor::task<report> fetch_all(caf::event_based_actor* self,
                                std::vector<caf::actor> services) {
  std::vector<coactor::ask_awaitable<std::string, std::string>> fetches;
  for (auto& svc : services)
    fetches.push_back(
        coactor::ask<std::string>(self, svc, 5s, std::string{"/index"}));
  auto start = clock_type::now();
  auto pages = co_await coactor::gather(std::move(fetches));
  co_return report{std::move(pages), clock_type::now() - start};
}

caf::behavior client(caf::event_based_actor* self,
                     std::vector<caf::actor> services,
                     std::promise<caf::expected<report>>* done) {
  coactor::start(self, fetch_all(self, std::move(services)),
                 [done](caf::expected<report> r) { done->set_value(r); });
  return {};
}

long ms(clock_type::duration d) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

} // namespace

int main() {
  auto node = coactor::node::create();
  if (!node) {
    std::fprintf(stderr, "%s\n", coactor::describe(node.error()).c_str());
    return 1;
  }
  std::vector<caf::actor> services;
  long sum = 0;
  long slowest = 0;
  for (int i = 1; i <= 10; ++i) {
    auto latency = std::chrono::milliseconds{20 * i}; // 20 ms ... 200 ms
    services.push_back(
        node->spawn(service, "service-" + std::to_string(i), latency));
    sum += 20 * i;
    slowest = std::max(slowest, 20L * i);
  }
  std::promise<caf::expected<report>> done;
  auto result = done.get_future();
  node->spawn(client, services, &done);
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
    auto& page = r->pages[i];
    std::printf("service-%zu: %s\n", i + 1,
                page ? page->c_str() : coactor::describe(page.error()).c_str());
    ok += page ? 1 : 0;
  }
  std::printf("gathered %zu of %zu pages in %ld ms (slowest service %ld ms, "
              "sum of latencies %ld ms)\n",
              ok, r->pages.size(), ms(r->total), slowest, sum);
  return ok == r->pages.size() ? 0 : 1;
}
