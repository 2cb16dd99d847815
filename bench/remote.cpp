// Benchmark: sequential request/reply round trips to an actor on another node
// over loopback TCP. coactor's `remote::ask` (type check, failure guard)
// against raw CAF `request().then()` to a proxy from `remote_actor`, both in
// the same run. Goal: coactor >= 0.9x raw.
#include <chrono>
#include <cstdio>
#include <future>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <coactor/node.hpp>
#include <coactor/remote.hpp>

using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;

caf::behavior echo() {
  return {[](int32_t x) {
    return x;
  }};
}

// Each driver sends one request, waits for its reply, sends the next.
void coactor_step(caf::event_based_actor* self, caf::actor target, int left,
                  std::promise<void>* done) {
  if (left == 0) {
    done->set_value();
    return;
  }
  coactor::remote::ask<int32_t>(
      self, target, 10s,
      [=](caf::expected<int32_t> x) {
        if (!x) {
          std::fprintf(stderr, "ask failed: %s\n",
                       coactor::describe(x.error()).c_str());
          std::abort();
        }
        coactor_step(self, target, left - 1, done);
      },
      int32_t{left});
}

void raw_step(caf::event_based_actor* self, caf::actor target, int left,
              std::promise<void>* done) {
  if (left == 0) {
    done->set_value();
    return;
  }
  self->request(target, 10s, int32_t{left})
      .then([=](int32_t) { raw_step(self, target, left - 1, done); },
            [](caf::error& err) {
              std::fprintf(stderr, "request failed: %s\n",
                           caf::to_string(err).c_str());
              std::abort();
            });
}

template <class Step, class Spawn>
double round_trips_per_s(Spawn spawn, caf::actor target, int n, Step step) {
  std::promise<void> done;
  auto fut = done.get_future();
  auto start = clock_type::now();
  spawn([&, target](caf::event_based_actor* self) {
    step(self, target, n, &done);
  });
  fut.wait();
  std::chrono::duration<double> secs = clock_type::now() - start;
  return n / secs.count();
}

} // namespace

int main() {
  constexpr int n = 20000;
  constexpr int rounds = 3;
  // coactor: two nodes (heartbeats on, as by default).
  coactor::node_options server_opts;
  server_opts.name = "server";
  server_opts.threads = 2;
  server_opts.port = 0;
  server_opts.log_level = coactor::log::level::warn;
  auto server = coactor::node::create(server_opts);
  coactor::remote::publish(*server, "echo", server->spawn(echo));
  coactor::node_options client_opts;
  client_opts.name = "client";
  client_opts.threads = 2;
  client_opts.networking = true;
  client_opts.log_level = coactor::log::level::warn;
  auto client = coactor::node::create(client_opts);
  auto peer = coactor::remote::connect(*client, "127.0.0.1",
                                       *coactor::remote::port(*server));
  auto target = coactor::remote::lookup(*client, *peer, "echo");
  if (!peer || !target) {
    std::fprintf(stderr, "setup failed\n");
    return 1;
  }
  // Raw CAF: two actor systems with the middleman, same threads and policy
  // (no heartbeats: CAF's default).
  caf::actor_system_config raw_server_cfg;
  raw_server_cfg.set("scheduler.max-threads", 2);
  raw_server_cfg.set("scheduler.policy", caf::atom("sharing")); // as a node
  raw_server_cfg.load<caf::io::middleman>();
  caf::actor_system raw_server{raw_server_cfg};
  auto raw_echo = raw_server.spawn(echo);
  auto raw_port = raw_server.middleman().publish(raw_echo, 0, "127.0.0.1");
  caf::actor_system_config raw_client_cfg;
  raw_client_cfg.set("scheduler.max-threads", 2);
  raw_client_cfg.set("scheduler.policy", caf::atom("sharing"));
  raw_client_cfg.load<caf::io::middleman>();
  caf::actor_system raw_client{raw_client_cfg};
  auto raw_target = raw_client.middleman().remote_actor("127.0.0.1", *raw_port);
  if (!raw_port || !raw_target) {
    std::fprintf(stderr, "raw setup failed\n");
    return 1;
  }
  double best_ours = 0;
  double best_raw = 0;
  auto spawn_ours = [&](auto f) {
    client->spawn(f);
  };
  auto spawn_raw = [&](auto f) {
    raw_client.spawn(f);
  };
  for (int r = 0; r < rounds; ++r) {
    best_raw = std::max(best_raw,
                        round_trips_per_s(spawn_raw, *raw_target, n, raw_step));
    best_ours = std::max(
        best_ours, round_trips_per_s(spawn_ours, *target, n, coactor_step));
  }
  std::printf("remote ask round trips over loopback (sequential, %d per run, "
              "best of %d): coactor %.0f/s, raw CAF %.0f/s, ratio %.2f "
              "(goal: >= 0.9)\n",
              n, rounds, best_ours, best_raw, best_ours / best_raw);
  raw_client.middleman().close(*raw_port);
  caf::anon_send_exit(raw_echo, caf::exit_reason::user_shutdown);
  return 0;
}
