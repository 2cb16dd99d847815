// Benchmark: a pipeline across two nodes over loopback TCP (an outlet on one
// node feeding an inlet on the other, with the credit protocol), against raw
// CAF sending one message per item to a remote actor (with a window of
// acknowledgements, so that memory stays bounded too). Both in the same run;
// both pairs of actor systems in this process, talking over 127.0.0.1.
// Prints items/s, their ratio, and the TCP payload bytes per item (BASP
// frames both ways, without TCP/IP headers).
// Goal: coactor >= 10M small items/s.
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <future>
#include <string>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <coactor/actors/pipeline.hpp>
#include <coactor/actors/remote.hpp>
#include <coactor/node.hpp>
#include <coactor/remote.hpp>

using namespace std::chrono_literals;
using namespace coactor::actors;

namespace {

using clock_type = std::chrono::steady_clock;
using ack_atom = caf::atom_constant<caf::atom("ack")>;

// Payload bytes this process's TCP connections have had acknowledged so far
// (both ends of each connection live in this process, so this counts both
// directions once; TCP/IP headers are not included).
uint64_t tcp_bytes_sent() {
  uint64_t total = 0;
  for (int fd = 0; fd < 1024; ++fd) {
    tcp_info info{};
    socklen_t len = sizeof(info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0)
      total += info.tcpi_bytes_acked;
  }
  return total;
}

struct figure {
  double items_per_s = 0;
  double bytes_per_item = 0;
};

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "remote pipeline bench: %s\n", what.c_str());
  std::exit(1);
}

// -- coactor: outlet -> inlet -------------------------------------------------

figure run_coactor(coactor::node& server, coactor::node& client,
                   const coactor::remote::peer& peer, int32_t n, size_t window,
                   size_t max_batch) {
  std::promise<caf::expected<pipeline_summary>> done;
  auto got = done.get_future();
  auto receiving = pipeline(server)
                       .from(inlet<int32_t>(
                           "in", {.capacity = window, .max_batch = max_batch}))
                       .to(counter())
                       .start([&done](caf::expected<pipeline_summary> r) {
                         done.set_value(std::move(r));
                       });
  if (!receiving)
    fail(coactor::describe(receiving.error()));
  auto in = coactor::remote::lookup(client, peer, "in");
  if (!in)
    fail(coactor::describe(in.error()));
  auto out = outlet<int32_t>(*in, "in");
  out.max_batch = max_batch;
  auto bytes0 = tcp_bytes_sent();
  auto t0 = clock_type::now();
  auto sent = pipeline(client)
                  .from(iota<int32_t>(0, n, {.max_batch = max_batch}))
                  .to(out)
                  .run();
  auto r = got.get();
  std::chrono::duration<double> secs = clock_type::now() - t0;
  if (!sent || !r || r->consumed != static_cast<uint64_t>(n))
    fail("coactor run failed: "
         + (sent ? (r ? std::string{"wrong count"}
                      : coactor::describe(r.error()))
                 : coactor::describe(sent.error())));
  return {n / secs.count(), static_cast<double>(tcp_bytes_sent() - bytes0) / n};
}

// -- raw CAF: one message per item, acknowledged every `window` items ---------

struct raw_sink_state {
  int64_t seen = 0;
};

// Acknowledges every `window` items to their sender.
caf::behavior raw_sink(caf::stateful_actor<raw_sink_state>* self,
                       int32_t window) {
  return {[self, window](int32_t) {
    if (++self->state.seen % window == 0)
      self->send(caf::actor_cast<caf::actor>(self->current_sender()),
                 ack_atom::value);
  }};
}

struct raw_source_state {
  int64_t sent = 0;
  int64_t acked = 0;
};

// Sends `n` items (a multiple of `window`), at most 2 windows unacknowledged.
caf::behavior raw_source(caf::stateful_actor<raw_source_state>* self,
                         caf::actor sink, int32_t n, int32_t window,
                         std::promise<void>* done) {
  auto send_upto = [self, sink, n](int64_t limit) {
    auto& st = self->state;
    for (; st.sent < std::min<int64_t>(limit, n); ++st.sent)
      self->send(sink, static_cast<int32_t>(st.sent));
  };
  send_upto(2 * window);
  return {[=](ack_atom) {
    auto& st = self->state;
    st.acked += window;
    if (st.acked >= n) {
      done->set_value();
      self->quit();
      return;
    }
    send_upto(st.acked + 2 * window);
  }};
}

figure run_raw(caf::actor_system& client, const caf::actor& sink, int32_t n,
               int32_t window) {
  std::promise<void> done;
  auto fut = done.get_future();
  auto bytes0 = tcp_bytes_sent();
  auto t0 = clock_type::now();
  client.spawn(raw_source, sink, n, window, &done);
  fut.wait();
  std::chrono::duration<double> secs = clock_type::now() - t0;
  return {n / secs.count(), static_cast<double>(tcp_bytes_sent() - bytes0) / n};
}

coactor::node make_node(const char* name, bool listen) {
  coactor::node_options opts;
  opts.name = name;
  opts.threads = 2;
  opts.log_level = coactor::log::level::warn;
  if (listen)
    opts.port = 0;
  else
    opts.networking = true;
  register_item_type<int32_t>(opts.types, "int32");
  auto n = coactor::node::create(opts);
  if (!n)
    fail(coactor::describe(n.error()));
  return std::move(*n);
}

} // namespace

int main() {
  constexpr int32_t coactor_items = 20'000'000;
  constexpr int32_t raw_items = 500'000;
  constexpr int32_t raw_window = 1000;
  constexpr int rounds = 2;
  auto server = make_node("server", true);
  auto client = make_node("client", false);
  auto peer = coactor::remote::connect(client, "127.0.0.1",
                                       *coactor::remote::port(server));
  if (!peer)
    fail(coactor::describe(peer.error()));
  // Raw CAF: two actor systems with the middleman, same threads and policy.
  auto raw_cfg = [] {
    caf::actor_system_config cfg;
    cfg.set("scheduler.max-threads", 2);
    cfg.set("scheduler.policy", caf::atom("sharing")); // as a node
    cfg.load<caf::io::middleman>();
    return cfg;
  };
  auto raw_server_cfg = raw_cfg();
  caf::actor_system raw_server{raw_server_cfg};
  auto raw_client_cfg = raw_cfg();
  caf::actor_system raw_client{raw_client_cfg};
  auto sink = raw_server.spawn(raw_sink, raw_window);
  auto raw_port = raw_server.middleman().publish(sink, 0, "127.0.0.1");
  if (!raw_port)
    fail("raw publish failed");
  auto raw_target = raw_client.middleman().remote_actor("127.0.0.1", *raw_port);
  if (!raw_target)
    fail("raw remote_actor failed");

  struct config {
    size_t window;
    size_t max_batch;
  };
  figure best_raw;
  figure best[2];
  const config configs[2] = {{16384, 1024}, {65536, 4096}};
  for (int r = 0; r < rounds; ++r) {
    auto raw = run_raw(raw_client, *raw_target, raw_items, raw_window);
    if (raw.items_per_s > best_raw.items_per_s)
      best_raw = raw;
    for (int c = 0; c < 2; ++c) {
      auto x = run_coactor(server, client, *peer, coactor_items,
                           configs[c].window, configs[c].max_batch);
      if (x.items_per_s > best[c].items_per_s)
        best[c] = x;
    }
  }
  std::printf("raw CAF, one int32 message per item (window %d, %d items, best "
              "of %d): %.3fM items/s, %.1f bytes sent per item\n",
              raw_window, raw_items, rounds, best_raw.items_per_s / 1e6,
              best_raw.bytes_per_item);
  for (int c = 0; c < 2; ++c)
    std::printf("coactor outlet -> inlet, int32 items (inlet window %zu, "
                "batches of %zu, %d items, best of %d): %.2fM items/s, %.2f "
                "bytes sent per item, ratio to raw %.1f (goal: >= 10M "
                "items/s)\n",
                configs[c].window, configs[c].max_batch, coactor_items, rounds,
                best[c].items_per_s / 1e6, best[c].bytes_per_item,
                best[c].items_per_s / best_raw.items_per_s);
  raw_client.middleman().close(*raw_port);
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
  return 0;
}
