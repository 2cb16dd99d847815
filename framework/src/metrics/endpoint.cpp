// The node's metrics service: its registry, the built-in node metrics and
// the node's observability server: `/metrics`, `/status.json` and the status
// page (`/` and `/status`).
#include "endpoint.hpp"

#include <chrono>

#include "../node_context.hpp"
#include "coactor/http/server.hpp"
#include "coactor/metrics.hpp"
#include "coactor/node.hpp"

namespace coactor::metrics {

namespace detail {

metrics_service::metrics_service(coactor::detail::node_context& ctx)
    : started_(std::chrono::steady_clock::now()) {
  auto info = reg.add_gauge("coactor_node_info",
                            "Always 1; the node's name as a label.", {"node"});
  auto uptime = reg.add_gauge("coactor_node_uptime_seconds",
                              "Seconds since the node started.");
  auto threads = reg.add_gauge("coactor_node_scheduler_threads",
                               "Worker threads of the node's scheduler.");
  auto alive = reg.add_gauge("coactor_node_actors_alive",
                             "Actors owned by the node that are alive.");
  // The names are valid: these cannot fail.
  (*(*info)->get({ctx.opts.name}))->set(1);
  (*(*threads)->get({}))->set(static_cast<double>(ctx.opts.threads));
  auto* up = *(*uptime)->get({});
  auto* al = *(*alive)->get({});
  collector_ = reg.add_collector([this, up, al, &ctx] {
    std::chrono::duration<double> d
        = std::chrono::steady_clock::now() - started_;
    up->set(d.count());
    al->set(static_cast<double>(ctx.owned_alive()));
  });
  if (ctx.opts.metrics) {
    asks_ = std::make_unique<ask_metrics>(reg, ctx);
    bridges_ = publish_bridges(reg, ctx);
  }
}

metrics_service& service_of(coactor::detail::node_context& ctx) {
  return ctx.service<metrics_service>();
}

caf::error start_node_metrics(node& n) {
  auto& svc = service_of(*n.context());
  if (!n.options().metrics_port)
    return caf::none;
  // The routes run on the node's I/O thread: they only read thread-safe
  // state, and a flood of requests then wakes no scheduler thread (issue
  // 13). The registry and the context outlive the server: the node closes
  // its servers and joins its I/O threads before it destroys its services.
  auto* reg = &svc.reg;
  http::router routes;
  routes.route(
      "GET", "/metrics", http::function_handler{[reg](const http::request&) {
        return http::response{200,
                              {{"Content-Type", prometheus_content_type}},
                              reg->to_prometheus()};
      }},
      http::run_on::io_thread);
  auto* ctx = n.context(); // outlives the server, unlike the `node` handle
  routes.route("GET", "/status.json",
               http::function_handler{[ctx](const http::request&) {
                 return http::response{200,
                                       {{"Content-Type", "application/json"},
                                        {"Cache-Control", "no-store"}},
                                       snapshot(*ctx).dump()};
               }},
               http::run_on::io_thread);
  for (const char* path : {"/", "/status"})
    routes.route("GET", path, http::function_handler{[](const http::request&) {
                   return http::response{
                       200,
                       {{"Content-Type", "text/html; charset=utf-8"}},
                       std::string{page_html()}};
                 }},
                 http::run_on::io_thread);
  http::server_options opts;
  opts.host = n.options().host;
  opts.port = *n.options().metrics_port;
  opts.max_requests_per_second = endpoint_max_requests_per_second;
  auto srv = http::serve(n, std::move(opts), std::move(routes));
  if (!srv)
    return std::move(srv.error());
  svc.port = srv->port();
  return caf::none;
}

} // namespace detail

registry& of(node& n) {
  return detail::service_of(*n.context()).reg;
}

registry* of(caf::actor_system& sys) {
  auto* ctx = coactor::detail::node_context_of(sys);
  return ctx != nullptr ? &detail::service_of(*ctx).reg : nullptr;
}

std::optional<uint16_t> endpoint_port(node& n) {
  return detail::service_of(*n.context()).port;
}

} // namespace coactor::metrics
