// Small statistics shared by the benchmarks.
#pragma once

#include <algorithm>
#include <vector>

namespace coactor::bench {

/// The median of `xs` (the figures of one benchmark, repeated); 0 if empty.
inline double median(std::vector<double> xs) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto n = xs.size();
  return n % 2 == 1 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

/// The smallest, median and largest of a benchmark's repeated figures.
struct spread_figures {
  double min = 0;
  double median = 0;
  double max = 0;
};

/// The spread of `xs`; all zero if empty.
inline spread_figures spread(const std::vector<double>& xs) {
  if (xs.empty())
    return {};
  auto [lo, hi] = std::minmax_element(xs.begin(), xs.end());
  return {*lo, coactor::bench::median(xs), *hi};
}

} // namespace coactor::bench
