// coactor::spec::options: typed, located access to a piece's TOML table.
#include <algorithm>
#include <charconv>
#include <sstream>

#include "options_impl.hpp"

namespace coactor::spec {

std::optional<std::string> substitute(const std::string& text,
                                      const var_lookup& vars,
                                      std::string& problem) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    auto start = text.find("${", i);
    if (start == std::string::npos) {
      out.append(text, i, std::string::npos);
      break;
    }
    out.append(text, i, start - i);
    auto end = text.find('}', start + 2);
    if (end == std::string::npos) {
      problem = "unterminated '${' (expected '${NAME}')";
      return std::nullopt;
    }
    auto var = text.substr(start + 2, end - start - 2);
    auto value = vars(var);
    if (!value) {
      problem = "variable '" + var + "' is not set (use --set " + var
                + "=VALUE, the environment or the [vars] table)";
      return std::nullopt;
    }
    out += *value;
    i = end + 1;
  }
  return out;
}

std::string type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    default: return "a date or time";
  }
}

std::string options::impl::who() const {
  return std::string{to_string(r)} + " '" + name + "'";
}

void options::impl::error_at(const toml::node* n, const std::string& message) {
  rep.at(n != nullptr ? n->source() : tbl.source(), who() + ": " + message);
}

const toml::node* options::impl::get(const std::string& key) {
  read.insert(key);
  return tbl.get(key);
}

void options::impl::wrong_type(const std::string& key, const toml::node& n,
                               const char* what) {
  error_at(&n,
           "option '" + key + "': expected " + what + ", got " + type_name(n));
}

const std::string& options::name() const {
  return impl_->name;
}

item_kind options::input() const {
  return impl_->input;
}

bool options::has(const std::string& key) const {
  return impl_->tbl.contains(key);
}

std::string options::string(const std::string& key, std::string fallback) {
  auto* n = impl_->get(key);
  if (n == nullptr)
    return fallback;
  auto* s = n->as_string();
  if (s == nullptr) {
    impl_->wrong_type(key, *n, "a string");
    return fallback;
  }
  std::string problem;
  auto value = substitute(s->get(), impl_->vars, problem);
  if (!value) {
    impl_->error_at(n, "option '" + key + "': " + problem);
    return fallback;
  }
  impl_->settings[key] = *value;
  return *value;
}

std::string options::required_string(const std::string& key) {
  if (!has(key)) {
    impl_->read.insert(key);
    impl_->error_at(nullptr, "missing option '" + key + "' (a string)");
    return {};
  }
  return string(key);
}

int64_t options::integer(const std::string& key, int64_t fallback) {
  auto* n = impl_->get(key);
  if (n == nullptr)
    return fallback;
  auto* x = n->as_integer();
  if (x == nullptr) {
    // "${COUNT}": a variable may stand for an integer.
    auto* s = n->as_string();
    if (s != nullptr && s->get().find("${") != std::string::npos) {
      std::string problem;
      auto text = substitute(s->get(), impl_->vars, problem);
      int64_t value = 0;
      if (text) {
        auto* end = text->data() + text->size();
        auto [p, ec] = std::from_chars(text->data(), end, value);
        if (ec == std::errc{} && p == end && !text->empty()) {
          impl_->settings[key] = *text;
          return value;
        }
        problem = "expected an integer, got '" + *text + "'";
      }
      impl_->error_at(n, "option '" + key + "': " + problem);
      return fallback;
    }
    impl_->wrong_type(key, *n, "an integer");
    return fallback;
  }
  impl_->settings[key] = std::to_string(x->get());
  return x->get();
}

int64_t options::integer_at_least(const std::string& key, int64_t fallback,
                                  int64_t min) {
  auto x = integer(key, fallback);
  if (x < min) {
    impl_->error_at(impl_->tbl.get(key),
                    "option '" + key + "': expected an integer >= "
                        + std::to_string(min) + ", got " + std::to_string(x));
    return fallback;
  }
  return x;
}

double options::number(const std::string& key, double fallback) {
  auto* n = impl_->get(key);
  if (n == nullptr)
    return fallback;
  if (auto* i = n->as_integer()) {
    impl_->settings[key] = std::to_string(i->get());
    return static_cast<double>(i->get());
  }
  auto* x = n->as_floating_point();
  if (x == nullptr) {
    impl_->wrong_type(key, *n, "a number");
    return fallback;
  }
  std::ostringstream os;
  os << x->get();
  impl_->settings[key] = os.str();
  return x->get();
}

bool options::boolean(const std::string& key, bool fallback) {
  auto* n = impl_->get(key);
  if (n == nullptr)
    return fallback;
  auto* x = n->as_boolean();
  if (x == nullptr) {
    impl_->wrong_type(key, *n, "a boolean");
    return fallback;
  }
  impl_->settings[key] = x->get() ? "true" : "false";
  return x->get();
}

std::string options::choice(const std::string& key,
                            const std::vector<std::string>& choices) {
  auto x = string(key, choices.front());
  if (std::find(choices.begin(), choices.end(), x) != choices.end())
    return x;
  std::string list;
  for (auto& c : choices)
    list += (list.empty() ? "" : ", ") + c;
  impl_->error_at(impl_->tbl.get(key), "option '" + key + "': expected one of "
                                           + list + ", got '" + x + "'");
  return choices.front();
}

void options::error(const std::string& key, const std::string& message) {
  impl_->error_at(impl_->tbl.get(key), message);
}

} // namespace coactor::spec
