// The Prometheus text exposition format 0.0.4: HELP and TYPE lines, escaped
// label values, cumulative histogram buckets with `le`, `_sum` and `_count`.
#include <charconv>
#include <cmath>

#include "registry_impl.hpp"

namespace coactor::metrics::detail {

namespace {

// HELP text escapes backslash and newline; label values also the quote.
void append_escaped(std::string& out, const std::string& x, bool quote) {
  for (char c : x) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '"':
        if (quote) {
          out += "\\\"";
          break;
        }
        [[fallthrough]];
      default: out += c;
    }
  }
}

void append_double(std::string& out, double x) {
  if (std::isnan(x)) {
    out += "NaN";
  } else if (std::isinf(x)) {
    out += x > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    auto res = std::to_chars(buf, buf + sizeof(buf), x); // shortest exact
    out.append(buf, res.ptr);
  }
}

void append_uint(std::string& out, uint64_t x) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), x);
  out.append(buf, res.ptr);
}

// `name{a="x",b="y"[,le="..."]} `; no braces without labels.
void append_series(std::string& out, const std::string& name,
                   const std::vector<std::string>& names,
                   const std::vector<std::string>& values,
                   const std::string* le = nullptr) {
  out += name;
  if (!names.empty() || le != nullptr) {
    out += '{';
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (i > 0)
        out += ',';
      out += names[i];
      out += "=\"";
      append_escaped(out, values[i], true);
      out += '"';
    }
    if (le != nullptr) {
      if (!names.empty())
        out += ',';
      out += "le=\"";
      out += *le;
      out += '"';
    }
    out += '}';
  }
  out += ' ';
}

template <class T>
void append_header(std::string& out, const family<T>& f, const char* type) {
  out += "# HELP ";
  out += f.name();
  out += ' ';
  append_escaped(out, f.help(), false);
  out += "\n# TYPE ";
  out += f.name();
  out += ' ';
  out += type;
  out += '\n';
}

void write(std::string& out, const counter_family& f) {
  append_header(out, f, "counter");
  f.for_each([&](const std::vector<std::string>& values, const counter& c) {
    append_series(out, f.name(), f.label_names(), values);
    append_uint(out, c.value());
    out += '\n';
  });
}

void write(std::string& out, const gauge_family& f) {
  append_header(out, f, "gauge");
  f.for_each([&](const std::vector<std::string>& values, const gauge& g) {
    append_series(out, f.name(), f.label_names(), values);
    append_double(out, g.value());
    out += '\n';
  });
}

void write(std::string& out, const histogram_family& f) {
  append_header(out, f, "histogram");
  std::vector<std::string> les;
  for (auto b : f.bounds()) {
    std::string le;
    append_double(le, b);
    les.push_back(std::move(le));
  }
  les.emplace_back("+Inf");
  auto bucket = f.name() + "_bucket";
  auto sum = f.name() + "_sum";
  auto count = f.name() + "_count";
  f.for_each([&](const std::vector<std::string>& values, const histogram& h) {
    auto counts = h.bucket_counts();
    uint64_t total = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) {
      total += counts[i];
      append_series(out, bucket, f.label_names(), values, &les[i]);
      append_uint(out, total);
      out += '\n';
    }
    append_series(out, sum, f.label_names(), values);
    append_double(out, h.sum());
    out += '\n';
    // The +Inf bucket, so that `_count` always agrees with it.
    append_series(out, count, f.label_names(), values);
    append_uint(out, total);
    out += '\n';
  });
}

} // namespace

void write_prometheus(registry_impl& reg, std::string& out) {
  using family_ptr = std::variant<const counter_family*, const gauge_family*,
                                  const histogram_family*>;
  std::vector<family_ptr> families;
  {
    // Families are never removed, so the pointers outlive the lock (the
    // vector holding them may grow meanwhile).
    std::lock_guard<std::mutex> guard{reg.families_mtx};
    for (auto& f : reg.families)
      std::visit([&](const auto& x) { families.emplace_back(x.get()); }, f);
  }
  for (auto& f : families)
    std::visit([&](const auto* x) { write(out, *x); }, f);
}

} // namespace coactor::metrics::detail
