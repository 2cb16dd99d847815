// The HTTP server: routes, listener, handler actors and the node service
// that closes servers when their node stops.
#include "coactor/http/server.hpp"

#include <algorithm>
#include <future>

#include <boost/asio/post.hpp>
#include <caf/event_based_actor.hpp>

#include "../node_context.hpp"
#include "coactor/error.hpp"
#include "coactor/io.hpp"
#include "coactor/node.hpp"
#include "coactor/start.hpp"
#include "server_state.hpp"

namespace coactor::http {

namespace net = boost::asio;
using tcp = net::ip::tcp;

// -- router -------------------------------------------------------------------

namespace {

router::entry make_entry(std::string method, std::string path) {
  router::entry e;
  e.method = std::move(method);
  if (path.ends_with("/*")) {
    path.pop_back(); // keeps the '/': "/kv/*" matches "/kv/..."
    e.prefix = true;
  }
  e.path = std::move(path);
  return e;
}

} // namespace

router& router::route(std::string method, std::string path, task_handler fn) {
  auto e = make_entry(std::move(method), std::move(path));
  e.target = fn;
  entries_.push_back(std::move(e));
  return *this;
}

router& router::route(std::string method, std::string path, caf::actor target) {
  auto e = make_entry(std::move(method), std::move(path));
  e.target = std::move(target);
  entries_.push_back(std::move(e));
  return *this;
}

router& router::route(std::string method, std::string path, function_handler fn,
                      run_on where) {
  auto e = make_entry(std::move(method), std::move(path));
  e.where = where;
  e.target = std::move(fn);
  entries_.push_back(std::move(e));
  return *this;
}

namespace detail {

// -- handler actors -----------------------------------------------------------

namespace {

response error_response(const caf::error& err,
                        const std::shared_ptr<spdlog::logger>& log) {
  log->warn("a route failed: {}", describe(err));
  if (is(err, errc::timeout) || err == caf::sec::request_timeout)
    return response::text(504, "the handler did not answer in time\n");
  return response::text(500, "internal error\n");
}

} // namespace

response call_function(const function_handler& fn, const request& req,
                       const std::shared_ptr<spdlog::logger>& log) {
  try {
    return fn(req);
  } catch (const std::exception& x) {
    return error_response(make_error(errc::unhandled_exception, x.what()), log);
  } catch (...) {
    return error_response(make_error(errc::unhandled_exception), log);
  }
}

namespace {

caf::behavior handler_actor(caf::event_based_actor* self,
                            std::shared_ptr<server_state> st) {
  return {[self, st](http_call& call) {
    const auto& e = st->routes.entries()[call.route];
    auto slot = std::move(call.slot);
    auto log = st->log;
    if (auto* fn = std::get_if<task_handler>(&e.target)) {
      start(self, (*fn)(self, std::move(call.req)),
            [slot, log](caf::expected<response> r) {
              slot->deliver(r ? std::move(*r) : error_response(r.error(), log));
            });
    } else if (auto* fn = std::get_if<function_handler>(&e.target)) {
      slot->deliver(call_function(*fn, call.req, log));
    } else {
      auto& target = std::get<caf::actor>(e.target);
      self->request(target, st->opts.handler_timeout, std::move(call.req))
          .then([slot](response& r) { slot->deliver(std::move(r)); },
                [slot, log](caf::error& err) {
                  slot->deliver(error_response(err, log));
                });
    }
  }};
}

// -- the node service ---------------------------------------------------------

/// Closes every server of a node when the node stops (after its actors
/// ended, before the I/O threads are joined).
class server_registry final : public coactor::detail::node_service {
 public:
  explicit server_registry(coactor::detail::node_context&) {}

  void add(const std::shared_ptr<server_state>& st) {
    std::lock_guard<std::mutex> guard{mtx_};
    servers_.push_back(st);
  }

  void stop() override {
    std::vector<std::weak_ptr<server_state>> xs;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      xs.swap(servers_);
    }
    for (auto& w : xs)
      if (auto st = w.lock())
        st->stop(std::chrono::milliseconds{500});
  }

 private:
  std::mutex mtx_;
  std::vector<std::weak_ptr<server_state>> servers_;
};

} // namespace

// -- server_state -------------------------------------------------------------

caf::error server_state::listen() {
  auto where = opts.host + ":" + std::to_string(opts.port);
  boost::system::error_code ec;
  auto addr = net::ip::make_address(opts.host, ec);
  if (ec)
    return make_error(errc::invalid_argument, "http::serve: host '" + opts.host
                                                  + "' is not an IP address");
  tcp::endpoint ep{addr, opts.port};
  auto& acc = *acceptor;
  if (acc.open(ep.protocol(), ec)
      || acc.set_option(net::socket_base::reuse_address(true), ec)
      || acc.bind(ep, ec)
      || acc.listen(net::socket_base::max_listen_connections, ec))
    return make_error(errc::io_error, "http::serve: cannot listen on " + where
                                          + ": " + ec.message());
  port = acc.local_endpoint().port();
  return caf::none;
}

void server_state::accept() {
  // On the strand; `stop` resets the acceptor there too.
  if (stopping || !acceptor || !acceptor->is_open())
    return;
  acceptor->async_accept(
      net::make_strand(ioc),
      [self = shared_from_this()](boost::system::error_code ec,
                                  tcp::socket sock) {
        if (self->stopping)
          return; // `sock` closes on destruction
        if (ec) {
          if (ec != net::error::operation_aborted)
            self->log->warn("accept failed: {}", ec.message());
          self->accept();
          return;
        }
        bool refuse = false;
        {
          std::lock_guard<std::mutex> guard{self->mtx};
          refuse = self->sessions.size() >= self->opts.max_connections;
        }
        if (refuse)
          ++self->rejected;
        start_session(self, std::move(sock), refuse);
        self->accept();
      });
}

void server_state::opened(const std::shared_ptr<session>& s) {
  std::lock_guard<std::mutex> guard{mtx};
  if (sessions.insert(s).second && connections_metric != nullptr)
    connections_metric->add(1);
}

namespace {

// The route's pattern as written ("/kv/*"): its label value.
std::string route_label(const router::entry& e) {
  return e.prefix ? e.path + "*" : e.path;
}

// From 100 µs (a plain route on the I/O thread) to 10 s.
const std::vector<double> duration_bounds{
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};

} // namespace

void server_state::add_metrics(metrics::registry& reg) {
  if (auto fam = reg.add_counter("coactor_http_server_requests_total",
                                 "HTTP requests answered, by route pattern "
                                 "and status.",
                                 {"route", "status"}))
    requests_metric = *fam;
  if (auto fam = reg.add_gauge("coactor_http_server_open_connections",
                               "HTTP connections open now."))
    if (auto g = (*fam)->get({}))
      connections_metric = *g;
  auto fam = reg.add_histogram(
      "coactor_http_server_request_duration_seconds",
      "Seconds from reading an HTTP request to handing its response to the "
      "socket, by route pattern.",
      {"route"}, duration_bounds);
  if (!fam)
    return;
  std::vector<metrics::histogram*> xs;
  for (const auto& e : routes.entries()) {
    auto h = (*fam)->get({route_label(e)});
    if (!h)
      return;
    xs.push_back(*h);
  }
  if (auto h = (*fam)->get({"none"})) {
    xs.push_back(*h);
    duration_metrics = std::move(xs);
  }
}

std::chrono::steady_clock::duration
server_state::pace(std::chrono::steady_clock::time_point now) {
  using std::chrono::nanoseconds;
  auto rate = opts.max_requests_per_second;
  if (rate == 0)
    return {};
  // GCRA: a request conforms while the theoretical arrival time is at most
  // `burst` ahead of it; one that does not waits until it is.
  auto interval = nanoseconds{std::chrono::seconds{1}} / rate;
  auto burst = interval * static_cast<int64_t>(rate - 1);
  std::lock_guard<std::mutex> guard{pace_mtx};
  auto next = std::max(pace_next, now);
  pace_next = next + interval;
  auto start = next - burst;
  if (start <= now)
    return {};
  ++paced;
  return start - now;
}

void server_state::count_request(std::optional<std::size_t> route,
                                 unsigned status,
                                 std::chrono::steady_clock::duration took) {
  if (!duration_metrics.empty())
    duration_metrics[route ? *route : duration_metrics.size() - 1]->observe(
        std::chrono::duration<double>(took).count());
  if (requests_metric == nullptr)
    return;
  auto series = requests_metric->get(
      {route ? route_label(routes.entries()[*route]) : std::string{"none"},
       std::to_string(status)});
  if (series)
    (*series)->inc();
}

void server_state::closed(session* s) {
  std::shared_ptr<session> last; // destroyed outside the lock
  {
    std::lock_guard<std::mutex> guard{mtx};
    for (auto i = sessions.begin(); i != sessions.end(); ++i)
      if (i->get() == s) {
        last = *i;
        sessions.erase(i);
        if (connections_metric != nullptr)
          connections_metric->add(-1);
        break;
      }
  }
  cv.notify_all();
}

void server_state::stop(std::chrono::milliseconds deadline) {
  {
    std::lock_guard<std::mutex> guard{mtx};
    if (stopped)
      return;
    stopped = true;
  }
  stopping = true;
  // Close the listener on its strand and wait for it, so that nothing of
  // the io_context is left in this state (a handle may outlive the node).
  std::promise<void> closed_listener;
  auto listener_done = closed_listener.get_future();
  net::post(*strand, [self = shared_from_this(), &closed_listener] {
    boost::system::error_code ignored;
    self->acceptor->close(ignored);
    self->acceptor.reset();
    closed_listener.set_value();
  });
  auto close_all = [this](bool force) {
    std::vector<std::shared_ptr<session>> xs;
    {
      std::lock_guard<std::mutex> guard{mtx};
      xs.assign(sessions.begin(), sessions.end());
    }
    for (auto& s : xs)
      close_session(s, force);
  };
  close_all(false);
  {
    std::unique_lock<std::mutex> guard{mtx};
    if (!cv.wait_for(guard, deadline, [this] { return sessions.empty(); })) {
      log->warn("http server on port {}: {} connection(s) still busy at the "
                "stop deadline; closing them",
                port, sessions.size());
      guard.unlock();
      close_all(true);
      guard.lock();
      cv.wait_for(guard, std::chrono::seconds{1},
                  [this] { return sessions.empty(); });
    }
  }
  if (listener_done.wait_for(std::chrono::seconds{1})
      == std::future_status::ready)
    strand.reset();
  else // the I/O threads are stuck; leave the strand, better than a crash
    log->warn("http server on port {}: the listener did not close", port);
  std::vector<caf::actor> hs;
  {
    std::lock_guard<std::mutex> guard{handlers_mtx};
    hs.swap(handlers);
  }
  for (auto& h : hs)
    caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
}

} // namespace detail

// -- server -------------------------------------------------------------------

uint16_t server::port() const noexcept {
  return st_->port;
}

std::string server::url() const {
  return "http://" + st_->opts.host + ":" + std::to_string(st_->port);
}

server_stats server::stats() const {
  server_stats x;
  x.requests = st_->requests;
  x.rejected_connections = st_->rejected;
  x.malformed = st_->malformed;
  x.paced = st_->paced;
  std::lock_guard<std::mutex> guard{st_->mtx};
  x.open_connections = st_->sessions.size();
  return x;
}

void server::stop(std::chrono::milliseconds deadline) {
  st_->stop(deadline);
}

caf::expected<server> serve(node& n, server_options opts, router routes) {
  if (opts.max_connections == 0)
    return make_error(errc::invalid_argument,
                      "http::serve: max_connections must be at least 1");
  if (opts.read_timeout.count() <= 0 || opts.handler_timeout.count() <= 0)
    return make_error(errc::invalid_argument,
                      "http::serve: read_timeout and handler_timeout must be "
                      "positive");
  // The I/O service first: services stop in reverse order, so the servers
  // close before the I/O threads are joined.
  auto ioc = io::context(n);
  if (!ioc)
    return std::move(ioc.error());
  auto* ctx = n.context();
  auto st = std::make_shared<detail::server_state>(
      **ioc, std::move(opts), std::move(routes), ctx->logger("http"));
  if (n.options().metrics)
    st->add_metrics(metrics::of(n));
  if (auto err = st->listen())
    return err;
  // No actor when every route runs on the I/O thread (the node's own
  // observability server): nothing would ever wake it.
  const auto& es = st->routes.entries();
  bool actors_needed = std::any_of(es.begin(), es.end(), [](const auto& e) {
    return e.where != run_on::io_thread;
  });
  auto count = !actors_needed                 ? 0
               : st->opts.handler_actors != 0 ? st->opts.handler_actors
                                              : n.options().threads;
  for (std::size_t i = 0; i < count; ++i)
    st->handlers.push_back(n.spawn(detail::handler_actor, st));
  ctx->service<detail::server_registry>().add(st);
  net::post(*st->strand, [st] { st->accept(); });
  st->log->debug("serving on {}:{}", st->opts.host, st->port);
  return server{st};
}

} // namespace coactor::http
