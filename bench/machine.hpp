// What a benchmark prints about where it ran: the cores it may use and the
// date (UTC), so that a figure in docs/benchmarks.md names its machine.
#pragma once

#include <sched.h>

#include <ctime>
#include <string>

namespace coactor::bench {

/// The cores this process may run on (its affinity mask, as `nproc`).
inline int cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  ::sched_getaffinity(0, sizeof(set), &set);
  return CPU_COUNT(&set);
}

/// Today's date in UTC, "YYYY-MM-DD".
inline std::string utc_date() {
  char date[16];
  auto now = std::time(nullptr);
  std::strftime(date, sizeof(date), "%F", std::gmtime(&now));
  return date;
}

} // namespace coactor::bench
