// The metrics registry: name validation, families, histograms and
// collectors.
#include "coactor/metrics.hpp"

#include <algorithm>
#include <cmath>

#include "registry_impl.hpp"

namespace coactor::metrics {

namespace {

caf::error bad(std::string what) {
  return make_error(errc::invalid_argument, std::move(what));
}

bool valid_name(const std::string& x, bool colon) {
  if (x.empty())
    return false;
  auto head = [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
           || (colon && c == ':');
  };
  if (!head(x[0]))
    return false;
  return std::all_of(x.begin() + 1, x.end(),
                     [&](char c) { return head(c) || (c >= '0' && c <= '9'); });
}

caf::error check(metric_type type, const std::string& name,
                 const std::vector<std::string>& labels) {
  if (!valid_name(name, true))
    return bad("metric name '" + name + "': expected [a-zA-Z_:][a-zA-Z0-9_:]*");
  if (type == metric_type::counter
      && (name.size() < 6 || name.compare(name.size() - 6, 6, "_total") != 0))
    return bad("counter '" + name + "': the name must end in _total");
  for (auto& l : labels) {
    if (!valid_name(l, false) || l.starts_with("__"))
      return bad("metric " + name + ": label name '" + l
                 + "': expected [a-zA-Z_][a-zA-Z0-9_]*, not starting with __");
    if (type == metric_type::histogram && l == "le")
      return bad("histogram " + name + ": 'le' is reserved for buckets");
    if (std::count(labels.begin(), labels.end(), l) > 1)
      return bad("metric " + name + ": label '" + l + "' given twice");
  }
  return caf::none;
}

template <class T>
caf::expected<family<T>*>
add_family(detail::registry_impl& reg, metric_type type, std::string name,
           std::string help, std::vector<std::string> labels,
           std::vector<double> bounds) {
  if (auto err = check(type, name, labels))
    return err;
  std::lock_guard<std::mutex> guard{reg.families_mtx};
  for (auto& f : reg.families) {
    auto same = std::visit(
        [&](auto& x) -> caf::expected<family<T>*> {
          if (x->name() != name)
            return nullptr;
          using X = typename std::decay_t<decltype(*x)>;
          if constexpr (std::is_same_v<X, family<T>>) {
            if (x->label_names() == labels
                && (type != metric_type::histogram || x->bounds() == bounds))
              return x.get();
          }
          return bad("metric " + name
                     + ": registered before with another type, other labels "
                       "or other buckets");
        },
        f);
    if (!same || *same != nullptr)
      return same;
  }
  auto fam = std::make_unique<family<T>>(type, std::move(name), std::move(help),
                                         std::move(labels), std::move(bounds));
  auto* result = fam.get();
  reg.families.emplace_back(std::move(fam));
  return result;
}

} // namespace

// -- histogram ----------------------------------------------------------------

histogram::histogram(const std::vector<double>& bounds)
    : bounds_(&bounds),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds.size() + 1)) {}

std::size_t histogram::bucket_of(double x) const noexcept {
  // First bound >= x: Prometheus buckets are `le` (less or equal).
  auto i = std::lower_bound(bounds_->begin(), bounds_->end(), x);
  return static_cast<std::size_t>(i - bounds_->begin());
}

void histogram::observe(double x) noexcept {
  counts_[bucket_of(x)].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(x, std::memory_order_relaxed);
}

void histogram::observe_owned(double x) noexcept {
  auto& c = counts_[bucket_of(x)];
  c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  sum_.store(sum_.load(std::memory_order_relaxed) + x,
             std::memory_order_relaxed);
}

void histogram::merge_owned(const std::vector<uint64_t>& counts,
                            double sum) noexcept {
  auto n = std::min(counts.size(), bounds_->size() + 1);
  for (std::size_t i = 0; i < n; ++i)
    counts_[i].store(counts_[i].load(std::memory_order_relaxed) + counts[i],
                     std::memory_order_relaxed);
  sum_.store(sum_.load(std::memory_order_relaxed) + sum,
             std::memory_order_relaxed);
}

std::vector<uint64_t> histogram::bucket_counts() const {
  std::vector<uint64_t> result(bounds_->size() + 1);
  for (std::size_t i = 0; i < result.size(); ++i)
    result[i] = counts_[i].load(std::memory_order_relaxed);
  return result;
}

// -- collector_handle ---------------------------------------------------------

collector_handle&
collector_handle::operator=(collector_handle&& other) noexcept {
  if (this != &other) {
    reset();
    reg_ = std::move(other.reg_);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

void collector_handle::reset() noexcept {
  if (auto reg = reg_.lock(); reg && id_ != 0) {
    std::lock_guard<std::mutex> guard{reg->collect_mtx};
    reg->collectors.erase(id_);
    reg->status_providers.erase(id_);
  }
  reg_.reset();
  id_ = 0;
}

void collector_handle::finish() noexcept {
  if (auto reg = reg_.lock(); reg && id_ != 0) {
    std::lock_guard<std::mutex> guard{reg->collect_mtx};
    if (auto i = reg->collectors.find(id_); i != reg->collectors.end()) {
      i->second();
      reg->collectors.erase(i);
    }
    reg->status_providers.erase(id_);
  }
  reg_.reset();
  id_ = 0;
}

// -- registry -----------------------------------------------------------------

registry::registry() : impl_(std::make_shared<detail::registry_impl>()) {}

registry::~registry() = default;

caf::expected<counter_family*>
registry::add_counter(std::string name, std::string help,
                      std::vector<std::string> label_names) {
  return add_family<counter>(*impl_, metric_type::counter, std::move(name),
                             std::move(help), std::move(label_names), {});
}

caf::expected<gauge_family*>
registry::add_gauge(std::string name, std::string help,
                    std::vector<std::string> label_names) {
  return add_family<gauge>(*impl_, metric_type::gauge, std::move(name),
                           std::move(help), std::move(label_names), {});
}

caf::expected<histogram_family*>
registry::add_histogram(std::string name, std::string help,
                        std::vector<std::string> label_names,
                        std::vector<double> bounds) {
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]))
      return bad("histogram " + name + ": bucket bounds must be finite");
    if (i > 0 && bounds[i] <= bounds[i - 1])
      return bad("histogram " + name
                 + ": bucket bounds must be strictly increasing");
  }
  return add_family<histogram>(*impl_, metric_type::histogram, std::move(name),
                               std::move(help), std::move(label_names),
                               std::move(bounds));
}

collector_handle registry::add_collector(std::function<void()> fn) {
  std::lock_guard<std::mutex> guard{impl_->collect_mtx};
  auto id = impl_->next_id++;
  impl_->collectors.emplace(id, std::move(fn));
  return collector_handle{impl_, id};
}

void registry::collect() {
  std::lock_guard<std::mutex> guard{impl_->collect_mtx};
  impl_->run_collectors();
}

std::string registry::to_prometheus() {
  std::string out;
  std::lock_guard<std::mutex> guard{impl_->collect_mtx};
  impl_->run_collectors();
  detail::write_prometheus(*impl_, out);
  return out;
}

} // namespace coactor::metrics
