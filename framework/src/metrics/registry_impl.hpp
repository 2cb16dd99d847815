// Private: what a metrics registry holds, shared by the registry, its
// collector handles and the Prometheus writer.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "coactor/metrics.hpp"

namespace coactor::metrics::detail {

using any_family = std::variant<std::unique_ptr<counter_family>,
                                std::unique_ptr<gauge_family>,
                                std::unique_ptr<histogram_family>>;

struct registry_impl {
  // Families in registration order; never removed.
  std::mutex families_mtx;
  std::vector<any_family> families;

  // Held while collectors run and while the text is written, so collectors
  // never run twice at once (they may be single writers of their series).
  std::mutex collect_mtx;
  std::map<uint64_t, std::function<void()>> collectors;
  uint64_t next_id = 1;
  // Status providers (status.hpp) by id, with their section; same lock.
  std::map<uint64_t, std::pair<std::string, std::function<nlohmann::json()>>>
      status_providers;

  /// Precondition: `collect_mtx` held.
  void run_collectors() {
    for (auto& [id, fn] : collectors)
      fn();
  }
};

/// How the status document reaches a registry's providers.
struct registry_access {
  static const std::shared_ptr<registry_impl>& impl(registry& r) {
    return r.impl_;
  }
};

/// Appends the exposition of every family to `out`. Precondition:
/// `collect_mtx` held (not `families_mtx`).
void write_prometheus(registry_impl& reg, std::string& out);

} // namespace coactor::metrics::detail
