// coactor::spec::plan: printing, drawing (DOT) and building a validated plan
// with the typed pipeline builder (every level carries `spec::item`).
#include "coactor/spec/plan.hpp"

#include <mutex>
#include <set>
#include <sstream>

namespace coactor::spec {

namespace {

// The builder keeps a stage's kind as a `const char*` beyond the spec's
// life: intern the names.
const char* intern(const std::string& kind) {
  static std::mutex mtx;
  static std::set<std::string> names;
  std::lock_guard<std::mutex> guard{mtx};
  return names.insert(kind).first->c_str();
}

struct dynamic_stage : actors::detail::named_spec<dynamic_stage> {
  std::function<transform()> make_transform;
  const char* kind_name = "map";
  size_t cap = actors::default_stage_capacity;
  actors::overflow_policy overflow = actors::overflow_policy::backpressure;
  actors::restart_policy restarts;

  template <class In>
  struct def {
    using out_type = item;
  };

  [[nodiscard]] const char* kind() const noexcept { return kind_name; }
  [[nodiscard]] size_t capacity() const noexcept { return cap; }
  [[nodiscard]] actors::overflow_policy policy() const noexcept {
    return overflow;
  }
  [[nodiscard]] size_t max_batch() const noexcept { return 1024; }

  template <class In>
  std::function<actors::detail::processor<In, item>()> make() const {
    return [mk = make_transform] {
      auto t = mk();
      actors::detail::processor<In, item> p;
      // The window before the move: a moved-from std::function is empty,
      // which left every window 0 (flushes only at the end of the stream).
      p.max_delay = t.flush ? t.window : caf::timespan{0};
      p.pending = std::move(t.pending);
      p.on_batch = std::move(t.on_batch);
      p.flush = std::move(t.flush);
      return p;
    };
  }
};

struct dynamic_sink : actors::detail::named_spec<dynamic_sink> {
  std::function<sink_fn()> make_sink;
  size_t window = actors::default_window;
  actors::restart_policy restarts;

  template <class T>
  std::function<actors::detail::sink_fn<T>()> make() const {
    return make_sink;
  }
};

item key_of(const item& x) {
  return x;
}

template <class Builder, class Spec>
auto place(Builder b, Spec s, const piece& p) {
  if (p.route == "by_key")
    return std::move(b).via(std::move(s),
                            actors::partition_by(p.parallel, key_of));
  auto mode = p.route == "broadcast" ? actors::route::broadcast
                                     : actors::route::round_robin;
  return std::move(b).via(std::move(s), actors::parallel{p.parallel, mode});
}

std::string quoted(const std::string& x) {
  std::string out = "\"";
  for (char c : x) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out + '"';
}

void describe_piece(std::ostringstream& os, const piece& p) {
  os << "  " << to_string(p.role) << " '" << p.name << "': " << p.kind;
  if (p.role != role::source)
    os << ", takes " << to_string(p.input);
  if (p.role != role::sink)
    os << ", emits " << to_string(p.output);
  if (p.role != role::source && !p.inputs.empty()) {
    os << ", from";
    for (auto& i : p.inputs)
      os << " '" << i << "'";
  }
  if (p.parallel > 1)
    os << ", parallel " << p.parallel << " (" << p.route << ")";
  if (p.role == role::stage)
    os << ", capacity " << p.capacity << ", overflow "
       << actors::to_string(p.overflow);
  for (auto& [k, v] : p.settings)
    if (k != "parallel" && k != "route" && k != "capacity" && k != "overflow")
      os << ", " << k << " = " << quoted(v);
  os << '\n';
}

} // namespace

std::string plan::to_string() const {
  std::ostringstream os;
  os << "pipeline '" << (name.empty() ? file : name) << "' from " << file
     << ": " << sources.size() << " source(s), " << stages.size()
     << " stage(s), 1 sink\n";
  for (auto* group : {&sources, &stages})
    for (auto& p : *group)
      describe_piece(os, p);
  describe_piece(os, sink);
  return os.str();
}

std::string plan::to_dot() const {
  std::ostringstream os;
  os << "digraph " << quoted(name.empty() ? file : name) << " {\n"
     << "  rankdir=LR;\n  node [shape=box, fontname=\"sans-serif\"];\n";
  auto node = [&](const piece& p, const char* shape) {
    auto label = p.name + "\\n" + p.kind
                 + (p.parallel > 1 ? " x" + std::to_string(p.parallel) : "");
    os << "  " << quoted(p.name) << " [label=\"";
    for (char c : label)
      os << (c == '"' ? std::string{"\\\""} : std::string(1, c));
    os << "\", shape=" << shape << "];\n";
  };
  for (auto& s : sources)
    node(s, "ellipse");
  for (auto& s : stages)
    node(s, s.stage.is_buffer ? "cylinder" : "box");
  node(sink, "doubleoctagon");
  auto edges = [&](const piece& to, const std::vector<piece>& from_all) {
    for (auto& in : to.inputs) {
      auto kind = std::string{"text"};
      for (auto& f : from_all)
        if (f.name == in)
          kind = std::string{spec::to_string(f.output)};
      os << "  " << quoted(in) << " -> " << quoted(to.name)
         << " [label=" << quoted(kind) << "];\n";
    }
  };
  std::vector<piece> ups = sources;
  ups.insert(ups.end(), stages.begin(), stages.end());
  for (auto& s : stages)
    edges(s, ups);
  edges(sink, ups);
  os << "}\n";
  return os.str();
}

actors::runnable_pipeline build(coactor::node& n, const plan& p) {
  std::vector<actors::producer<item>> ps;
  for (auto& s : p.sources)
    ps.push_back(s.source.producer);
  auto b = actors::pipeline(n).from(std::move(ps));
  for (auto& st : p.stages) {
    dynamic_stage s;
    s.name = st.name;
    s.make_transform = st.stage.make;
    s.kind_name = intern(st.stage.is_buffer ? "buffer" : st.kind);
    s.cap = st.capacity;
    s.overflow = st.overflow;
    s.restarts = st.restarts;
    b = place(std::move(b), std::move(s), st);
  }
  dynamic_sink k;
  k.name = p.sink.name;
  k.make_sink = p.sink.sink.make;
  k.restarts = p.sink.restarts;
  if (p.sink.route == "by_key")
    return std::move(b).to(std::move(k),
                           actors::partition_by(p.sink.parallel, key_of));
  auto mode = p.sink.route == "broadcast" ? actors::route::broadcast
                                          : actors::route::round_robin;
  return std::move(b).to(std::move(k), actors::parallel{p.sink.parallel, mode});
}

} // namespace coactor::spec
