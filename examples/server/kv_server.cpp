// An embedded server application: `main` owns a node and serves a small JSON
// API backed by actors: a key-value store actor, and a word count that runs a
// pipeline over each POSTed text. SIGTERM or SIGINT stops it gracefully.
//
//   kv_server [--port=N] [node options...]
//   curl -X PUT --data blue http://127.0.0.1:N/kv/color
//   curl http://127.0.0.1:N/kv/color      # {"key":"color","value":"blue"}
//   curl --data 'the cat saw the dog' http://127.0.0.1:N/words
//   curl http://127.0.0.1:N/words/top     # {"the":2,...}
#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <caf/all.hpp>
#include <coactor/actors/pipeline.hpp>
#include <coactor/coroutines.hpp>
#include <coactor/http/server.hpp>
#include <coactor/node.hpp>
#include <nlohmann/json.hpp>

using namespace std::chrono_literals;
using json = nlohmann::json;
namespace http = coactor::http;
namespace actors = coactor::actors;

namespace {

using get_atom = caf::atom_constant<caf::atom("get")>;
using put_atom = caf::atom_constant<caf::atom("put")>;
using del_atom = caf::atom_constant<caf::atom("del")>;

// -- the key-value store: an actor owns the map ------------------------------

struct kv_state {
  std::map<std::string, std::string> items;
  static inline const char* name = "kv-store";
};

caf::behavior kv_store(caf::stateful_actor<kv_state>* self) {
  return {
      [self](get_atom, const std::string& key) -> caf::result<std::string> {
        auto i = self->state.items.find(key);
        if (i == self->state.items.end())
          return coactor::make_error(coactor::errc::invalid_argument, key);
        return i->second;
      },
      [self](put_atom, const std::string& key, std::string value) {
        self->state.items[key] = std::move(value);
        return self->state.items.size();
      },
      [self](del_atom, const std::string& key) {
        return self->state.items.erase(key) > 0;
      },
  };
}

// The store's handle for the HTTP handlers (set once in main, before
// serving; handlers only read it).
caf::actor store;

std::string key_of(const http::request& req) {
  return std::string{req.path().substr(4)}; // after "/kv/"
}

coactor::task<http::response> kv_get(caf::event_based_actor* self,
                                     http::request req) {
  auto key = key_of(req);
  auto value = co_await coactor::ask<std::string>(self, store, 1s,
                                                  get_atom::value, key);
  if (!value)
    co_return http::response::json(
        404, json{{"error", "no such key"}, {"key", key}}.dump());
  co_return http::response::json(200,
                                 json{{"key", key}, {"value", *value}}.dump());
}

coactor::task<http::response> kv_put(caf::event_based_actor* self,
                                     http::request req) {
  auto key = key_of(req);
  if (key.empty())
    co_return http::response::json(400, json{{"error", "empty key"}}.dump());
  auto n = co_await coactor::ask<std::size_t>(self, store, 1s, put_atom::value,
                                              key, req.body);
  if (!n)
    co_return http::response::json(503,
                                   json{{"error", "store unavailable"}}.dump());
  co_return http::response::json(200, json{{"key", key}, {"keys", *n}}.dump());
}

coactor::task<http::response> kv_delete(caf::event_based_actor* self,
                                        http::request req) {
  auto key = key_of(req);
  auto gone
      = co_await coactor::ask<bool>(self, store, 1s, del_atom::value, key);
  if (!gone || !*gone)
    co_return http::response::json(
        404, json{{"error", "no such key"}, {"key", key}}.dump());
  co_return http::response::json(200, json{{"deleted", key}}.dump());
}

// -- the word count: a pipeline over each POSTed text -------------------------

struct word_table {
  std::mutex mtx;
  std::map<std::string, std::size_t> counts;
};

std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  for (char c : text + " ") {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  return words;
}

coactor::node* the_node = nullptr; // set once in main, before serving
std::shared_ptr<word_table> table = std::make_shared<word_table>();

// Runs `words → counter` as a pipeline of actors and awaits its summary.
coactor::task<http::response> count_words(caf::event_based_actor* self,
                                          http::request req) {
  auto words = words_of(req.body);
  auto t = table;
  auto p = actors::pipeline(*the_node)
               .from(actors::from_range(std::move(words)))
               .to(actors::for_each([t](const std::string& w) {
                 std::lock_guard<std::mutex> guard{t->mtx};
                 ++t->counts[w];
               }));
  auto start = [p](coactor::done_callback<actors::pipeline_summary> done) {
    auto run = p.start([done](caf::expected<actors::pipeline_summary> s) {
      if (s)
        done(std::move(*s));
      else
        done(std::move(s.error()));
    });
    if (!run)
      done(std::move(run.error()));
  };
  auto summary = co_await coactor::from_callback<actors::pipeline_summary>(
      self, 10s, start);
  if (!summary)
    co_return http::response::json(
        500, json{{"error", coactor::describe(summary.error())}}.dump());
  co_return http::response::json(200,
                                 json{{"words", summary->consumed}}.dump());
}

http::response top_words(const http::request&) {
  std::vector<std::pair<std::string, std::size_t>> top;
  {
    std::lock_guard<std::mutex> guard{table->mtx};
    top.assign(table->counts.begin(), table->counts.end());
  }
  std::stable_sort(top.begin(), top.end(),
                   [](auto& a, auto& b) { return a.second > b.second; });
  nlohmann::ordered_json out = nlohmann::ordered_json::object(); // by count
  for (std::size_t i = 0; i < std::min<std::size_t>(10, top.size()); ++i)
    out[top[i].first] = top[i].second;
  return http::response::json(200, out.dump());
}

} // namespace

int main(int argc, char** argv) {
  // Block the stop signals before any thread starts, so every thread
  // inherits the mask and main receives them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  http::server_options sopts;
  std::vector<const char*> node_args;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (!arg.starts_with("--port=")) {
      node_args.push_back(argv[i]);
      continue;
    }
    auto digits = std::string_view{arg}.substr(7);
    auto [end, ec] = std::from_chars(digits.data(),
                                     digits.data() + digits.size(), sopts.port);
    if (ec != std::errc{} || end != digits.data() + digits.size()) {
      std::fprintf(stderr, "kv_server: --port wants 0..65535, not '%s'\n",
                   std::string{digits}.c_str());
      return 2;
    }
  }
  coactor::node_options defaults;
  defaults.name = "kv-server";
  defaults.threads = 2;
  auto opts = coactor::node_options::from_args(node_args, defaults);
  if (!opts) {
    std::fprintf(stderr, "kv_server: %s\n",
                 coactor::describe(opts.error()).c_str());
    return 2;
  }
  auto node = coactor::node::create(*opts);
  if (!node) {
    std::fprintf(stderr, "kv_server: %s\n",
                 coactor::describe(node.error()).c_str());
    return 1;
  }
  the_node = &*node;
  store = node->spawn(kv_store);
  http::router routes;
  routes.route("GET", "/kv/*", kv_get)
      .route("PUT", "/kv/*", kv_put)
      .route("DELETE", "/kv/*", kv_delete)
      .route("POST", "/words", count_words)
      .route("GET", "/words/top",
             std::function<http::response(const http::request&)>{top_words})
      .route("GET", "/health",
             std::function<http::response(const http::request&)>{
                 [](const http::request&) {
                   return http::response::json(200, R"({"ok":true})");
                 }});
  auto server = http::serve(*node, sopts, std::move(routes));
  if (!server) {
    std::fprintf(stderr, "kv_server: %s\n",
                 coactor::describe(server.error()).c_str());
    return 1;
  }
  std::printf("listening on %s\n", server->url().c_str());
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::printf("%s: stopping\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  server->stop(2s); // finish in-flight requests, then close
  auto stats = server->stats();
  store = caf::actor{};
  auto report = node->stop();
  std::printf("served %zu requests; stopped %s\n", stats.requests,
              report.clean() ? "cleanly" : "with unended actors");
  return report.clean() ? 0 : 1;
}
