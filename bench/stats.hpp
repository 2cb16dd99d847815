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

} // namespace coactor::bench
