// coactor::status: the status document of a node, built from its metrics
// service (node figures), CAF's registry (named actors) and the providers
// that pipelines and remoting add.
#include "coactor/status.hpp"

#include <chrono>
#include <exception>

#include <caf/actor_registry.hpp>
#include <caf/atom.hpp>

#include "../node_context.hpp"
#include "coactor/node.hpp"
#include "endpoint.hpp"
#include "registry_impl.hpp"

namespace coactor::status {

namespace {

metrics::collector_handle add_to(metrics::registry& reg, std::string section,
                                 provider fn) {
  if (section == "node" || !fn) // the node's own figures
    return {};
  const auto& impl = metrics::detail::registry_access::impl(reg);
  std::lock_guard<std::mutex> guard{impl->collect_mtx};
  auto id = impl->next_id++;
  impl->status_providers.emplace(id,
                                 std::pair{std::move(section), std::move(fn)});
  return metrics::collector_handle{impl, id};
}

nlohmann::json node_section(coactor::detail::node_context& ctx,
                            const metrics::detail::metrics_service& svc) {
  std::chrono::duration<double> up
      = std::chrono::steady_clock::now() - svc.started();
  auto result = nlohmann::json::object();
  result["name"] = ctx.opts.name;
  result["uptime_seconds"] = up.count();
  result["scheduler_threads"] = ctx.opts.threads;
  result["actors_alive"] = ctx.owned_alive();
  return result;
}

// The actors registered by name in CAF's registry (CAF's own among them).
nlohmann::json registered_actors(caf::actor_system& sys) {
  auto result = nlohmann::json::array();
  for (auto& [name, ptr] : sys.registry().named_actors()) {
    if (!ptr)
      continue;
    result.push_back({{"name", caf::to_string(name)},
                      {"id", ptr->id()},
                      {"how", "registered"}});
  }
  return result;
}

} // namespace

metrics::collector_handle add(node& n, std::string section, provider fn) {
  return add_to(metrics::of(n), std::move(section), std::move(fn));
}

metrics::collector_handle add(caf::actor_system& sys, std::string section,
                              provider fn) {
  auto* reg = metrics::of(sys);
  if (reg == nullptr)
    return {};
  return add_to(*reg, std::move(section), std::move(fn));
}

nlohmann::json snapshot(node& n) {
  return metrics::detail::snapshot(*n.context());
}

} // namespace coactor::status

namespace coactor::metrics::detail {

nlohmann::json snapshot(coactor::detail::node_context& ctx) {
  auto& svc = service_of(ctx);
  auto doc = nlohmann::json::object();
  doc["node"] = status::node_section(ctx, svc);
  doc["actors"] = status::registered_actors(ctx.system());
  doc["pipelines"] = nlohmann::json::array();
  doc["peers"] = nlohmann::json::array();
  const auto& impl = registry_access::impl(svc.reg);
  std::lock_guard<std::mutex> guard{impl->collect_mtx};
  for (auto& [id, entry] : impl->status_providers) {
    auto& [section, fn] = entry;
    auto& into = doc[section];
    if (!into.is_array())
      into = nlohmann::json::array();
    nlohmann::json value;
    try {
      value = fn();
    } catch (const std::exception& ex) {
      value = {{"error", std::string{"status provider threw: "} + ex.what()}};
    }
    if (value.is_array())
      for (auto& x : value)
        into.push_back(std::move(x));
    else
      into.push_back(std::move(value));
  }
  return doc;
}

} // namespace coactor::metrics::detail
