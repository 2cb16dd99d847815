// The HTTP client: one exchange per request on the node's I/O threads
// (acquire a pooled connection, resolve, connect, TLS, write, read), its
// outcome delivered into the awaiting actor.
#include "coactor/http/client.hpp"

#include <atomic>
#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/http.hpp>
#include <openssl/ssl.h>

#include "client_pool.hpp"
#include "coactor/error.hpp"
#include "coactor/io.hpp"

namespace coactor::http {

namespace detail {

namespace bhttp = beast::http;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

struct url_parts {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;
  std::string key() const {
    return (tls ? "https://" : "http://") + host + ":" + port;
  }
};

caf::expected<url_parts> parse_url(const std::string& url) {
  url_parts u;
  std::string_view rest = url;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
    u.tls = true;
  } else {
    return make_error(errc::invalid_argument,
                      "http: '" + url + "' is not an http:// or https:// URL");
  }
  auto slash = rest.find_first_of("/?");
  auto authority = rest.substr(0, slash);
  u.target
      = slash == std::string_view::npos ? "/" : std::string{rest.substr(slash)};
  if (u.target.starts_with("?"))
    u.target.insert(0, "/");
  auto colon = authority.rfind(':');
  if (colon != std::string_view::npos
      && authority.find(']', colon) == std::string_view::npos) {
    u.port = std::string{authority.substr(colon + 1)};
    authority = authority.substr(0, colon);
    if (u.port.empty()
        || u.port.find_first_not_of("0123456789") != std::string::npos
        || u.port.size() > 5 || std::stoul(u.port) > 65535)
      return make_error(errc::invalid_argument,
                        "http: bad port in URL '" + url + "'");
  } else {
    u.port = u.tls ? "443" : "80";
  }
  if (authority.starts_with("[") && authority.ends_with("]"))
    authority = authority.substr(1, authority.size() - 2);
  if (authority.empty())
    return make_error(errc::invalid_argument,
                      "http: no host in URL '" + url + "'");
  u.host = std::string{authority};
  return u;
}

// The status label of a failed exchange: coactor's error name.
std::string outcome_name(const caf::error& err) {
  if (err.category() == error_category)
    return std::string{to_string(static_cast<errc>(err.code()))};
  return "other";
}

bool idempotent(const std::string& method) {
  return method == "GET" || method == "HEAD" || method == "PUT"
         || method == "DELETE" || method == "OPTIONS";
}

/// One request and its redirects. Lives in shared ownership of its pending
/// operations; `done` is called exactly once.
class exchange : public std::enable_shared_from_this<exchange> {
 public:
  exchange(net::io_context& ioc, client_pool& pool, request req,
           client_options opts, done_callback<response> done)
      : ioc_(ioc), pool_(pool), req_(std::move(req)), opts_(std::move(opts)),
        done_(std::move(done)), ex_(pool.strand(ioc)), resolver_(ex_),
        timer_(ex_), started_(clock_type::now()),
        deadline_(started_ + opts_.timeout) {}

  void run(url_parts u, std::string url) {
    url_ = std::move(url);
    u_ = std::move(u);
    net::dispatch(ex_, [self = shared_from_this()] { self->acquire(); });
  }

  /// From the actor: the await ended first.
  void cancel() {
    net::post(ex_, [self = shared_from_this()] {
      self->cancelled_ = true;
      self->stop_work();
    });
  }

 private:
  // -- phases
  // -------------------------------------------------------------------

  void acquire() {
    phase_ = "waiting for a connection";
    arm_timer();
    auto self = shared_from_this();
    ticket_ = pool_.acquire(
        u_.key(), opts_.max_connections_per_host, [self](connection_ptr c) {
          net::post(self->ex_,
                    [self, c]() mutable { self->acquired(std::move(c)); });
        });
  }

  void acquired(connection_ptr c) {
    ticket_ = 0;
    if (finished_) { // timed out or cancelled meanwhile: pass it on
      pool_.release(u_.key(), std::move(c));
      return;
    }
    if (c) {
      conn_ = std::move(c);
      write();
    } else {
      conn_ = std::make_shared<connection>(ex_);
      resolve();
    }
  }

  void resolve() {
    phase_ = "resolve";
    resolver_.async_resolve(
        u_.host, u_.port,
        [self = shared_from_this()](beast::error_code ec,
                                    tcp::resolver::results_type rs) {
          self->on_resolve(ec, std::move(rs));
        });
  }

  void on_resolve(beast::error_code ec, tcp::resolver::results_type rs) {
    if (ec)
      return fail(errc::resolve_failed, ec);
    phase_ = "connect";
    auto& tcp = u_.tls ? make_tls() : conn_->make_plain();
    tcp.expires_at(deadline_);
    tcp.async_connect(rs, [self = shared_from_this()](beast::error_code e,
                                                      const tcp::endpoint&) {
      self->on_connect(e);
    });
  }

  beast::tcp_stream& make_tls() {
    auto ctx
        = std::make_shared<net::ssl::context>(net::ssl::context::tls_client);
    beast::error_code ec;
    if (!opts_.ca_file.empty())
      ctx->load_verify_file(opts_.ca_file, ec);
    else
      ctx->set_default_verify_paths(ec);
    if (ec)
      tls_setup_error_ = "cannot load CAs: " + ec.message();
    ctx->set_verify_mode(opts_.verify_peer ? net::ssl::verify_peer
                                           : net::ssl::verify_none);
    auto& s = conn_->make_tls(std::move(ctx));
    SSL_set_tlsext_host_name(s.native_handle(), u_.host.c_str());
    if (opts_.verify_peer)
      SSL_set1_host(s.native_handle(), u_.host.c_str());
    return beast::get_lowest_layer(s);
  }

  void on_connect(beast::error_code ec) {
    if (ec)
      return fail(errc::connection_failed, ec);
    if (!u_.tls)
      return write();
    phase_ = "tls";
    if (!tls_setup_error_.empty())
      return finish(make_error(errc::tls_failure, context(tls_setup_error_)));
    conn_->visit([self = shared_from_this()](auto& s) {
      if constexpr (requires {
                      s.async_handshake(net::ssl::stream_base::client,
                                        [](beast::error_code) {});
                    })
        s.async_handshake(net::ssl::stream_base::client,
                          [self](beast::error_code e) {
                            if (e)
                              return self->fail(errc::tls_failure, e);
                            self->write();
                          });
    });
  }

  void write() {
    phase_ = "write";
    auto msg = std::make_shared<bhttp::request<bhttp::string_body>>();
    msg->version(11);
    msg->method_string(req_.method);
    msg->target(u_.target);
    for (auto& [k, v] : req_.fields)
      msg->insert(k, v);
    if (find(req_.fields, "Host").empty())
      msg->set(bhttp::field::host, u_.host);
    if (find(req_.fields, "User-Agent").empty())
      msg->set(bhttp::field::user_agent, "coactor");
    msg->body() = req_.body;
    msg->keep_alive(true);
    msg->prepare_payload();
    conn_->tcp().expires_at(deadline_);
    conn_->visit([self = shared_from_this(), msg](auto& s) {
      bhttp::async_write(
          s, *msg,
          [self, msg](beast::error_code e, std::size_t) { self->on_write(e); });
    });
  }

  void on_write(beast::error_code ec) {
    if (ec)
      return retry_or_fail(errc::connection_failed, ec);
    phase_ = "read";
    parser_.emplace();
    parser_->body_limit(opts_.max_body_bytes);
    parser_->header_limit(64 * 1024);
    if (req_.method == "HEAD")
      parser_->skip(true);
    conn_->tcp().expires_at(deadline_);
    conn_->visit([self = shared_from_this()](auto& s) {
      bhttp::async_read(
          s, self->conn_->buffer, *self->parser_,
          [self](beast::error_code e, std::size_t) { self->on_read(e); });
    });
  }

  void on_read(beast::error_code ec) {
    if (ec == bhttp::error::body_limit)
      return finish(make_error(errc::resource_exhausted,
                               context("the response body exceeds "
                                       + std::to_string(opts_.max_body_bytes)
                                       + " bytes (max_body_bytes)")));
    if (ec
        && ec.category()
               == make_error_code(bhttp::error::end_of_stream).category()
        && ec != bhttp::error::end_of_stream
        && ec != bhttp::error::partial_message)
      return fail(errc::protocol_violation, ec);
    if (ec)
      return retry_or_fail(errc::connection_failed, ec);
    auto msg = parser_->release();
    // Beast's limit stops the read early; this holds the contract whatever
    // path the parser took.
    if (msg.body().size() > opts_.max_body_bytes)
      return finish(make_error(errc::resource_exhausted,
                               context("the response body exceeds "
                                       + std::to_string(opts_.max_body_bytes)
                                       + " bytes (max_body_bytes)")));
    response r;
    r.status = msg.result_int();
    for (const auto& f : msg)
      r.fields.emplace_back(std::string{f.name_string()},
                            std::string{f.value()});
    r.body = std::move(msg.body());
    bool keep = msg.keep_alive() && !msg.need_eof();
    conn_->reused = true;
    conn_->tcp().expires_never();
    release(keep);
    if (opts_.follow_redirects && r.status >= 300 && r.status < 400
        && r.status != 304 && !r.header("Location").empty())
      return redirect(std::move(r));
    finish(std::move(r));
  }

  void redirect(response r) {
    if (++redirects_ > opts_.max_redirects)
      return finish(
          make_error(errc::protocol_violation,
                     context("more than " + std::to_string(opts_.max_redirects)
                             + " redirects")));
    std::string location{r.header("Location")};
    if (location.starts_with("/"))
      location = (u_.tls ? "https://" : "http://") + u_.host + ":" + u_.port
                 + location;
    auto next = parse_url(location);
    if (!next)
      return finish(make_error(errc::protocol_violation,
                               context("bad redirect to '" + location + "'")));
    if (r.status == 303) {
      req_.method = "GET";
      req_.body.clear();
    }
    url_ = location;
    u_ = std::move(*next);
    acquire();
  }

  // -- endings
  // ------------------------------------------------------------------

  void retry_or_fail(errc code, beast::error_code ec) {
    // A kept connection the server closed meanwhile: once more, afresh.
    bool stale = conn_ && conn_->reused && !retried_ && !finished_
                 && !timed_out_ && !cancelled_
                 && (!parser_ || !parser_->got_some());
    if (stale && idempotent(req_.method) && ec != beast::error::timeout) {
      retried_ = true;
      conn_->close();
      conn_ = std::make_shared<connection>(ex_);
      return resolve();
    }
    fail(code, ec);
  }

  void fail(errc code, beast::error_code ec) {
    if (cancelled_)
      return finish(make_error(errc::cancelled, context("cancelled")));
    if (ec == beast::error::timeout || timed_out_)
      return finish(
          make_error(errc::timeout,
                     context("no answer within "
                             + std::to_string(opts_.timeout.count()) + " ms")));
    finish(make_error(code, context(ec.message())));
  }

  void finish(caf::expected<response> r) {
    if (finished_)
      return;
    finished_ = true;
    timer_.cancel();
    if (conn_) { // not released: an error ended the exchange
      conn_->close();
      release(false);
    }
    if (ticket_ != 0 && pool_.abandon(u_.key(), ticket_))
      ticket_ = 0;
    std::chrono::duration<double> took = clock_type::now() - started_;
    pool_.count(u_.key(),
                r ? std::to_string(r->status) : outcome_name(r.error()),
                took.count());
    if (r)
      done_(std::move(*r));
    else
      done_(std::move(r.error()));
  }

  void release(bool keep) {
    auto c = std::move(conn_);
    if (!keep)
      c->close();
    pool_.release(u_.key(), keep ? std::move(c) : nullptr);
  }

  void arm_timer() {
    timer_.expires_at(deadline_);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->finished_)
        return;
      self->timed_out_ = true;
      self->stop_work();
    });
  }

  /// Ends whatever runs (timeout, cancel); its handler reports.
  void stop_work() {
    if (finished_)
      return;
    resolver_.cancel();
    if (!conn_) // waiting for a connection: no handler of ours is pending
      return fail(errc::timeout, net::error::operation_aborted);
    // The connection may run on another strand (a pooled one).
    auto c = conn_;
    net::post(c->executor(), [c] { c->close(); });
  }

  std::string context(const std::string& what) const {
    return req_.method + " " + url_ + ": " + phase_ + ": " + what;
  }

  net::io_context& ioc_;
  client_pool& pool_;
  request req_;
  client_options opts_;
  done_callback<response> done_;
  net::strand<net::io_context::executor_type> ex_;
  tcp::resolver resolver_;
  net::steady_timer timer_;
  clock_type::time_point started_;
  clock_type::time_point deadline_;
  std::string url_;
  url_parts u_;
  connection_ptr conn_;
  std::optional<bhttp::response_parser<bhttp::string_body>> parser_;
  std::string tls_setup_error_;
  const char* phase_ = "start";
  std::size_t ticket_ = 0;
  unsigned redirects_ = 0;
  bool retried_ = false;
  bool finished_ = false;
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> timed_out_{false};
};

} // namespace

client_pool::client_pool(coactor::detail::node_context& ctx) {
  if (!ctx.opts.metrics)
    return;
  auto* reg = metrics::of(ctx.system());
  if (reg == nullptr)
    return;
  if (auto fam = reg->add_counter("coactor_http_client_requests_total",
                                  "HTTP client exchanges that ended, by "
                                  "server (scheme://host:port) and status "
                                  "(or error name).",
                                  {"host", "status"}))
    requests_metric_ = *fam;
  if (auto fam = reg->add_histogram(
          "coactor_http_client_request_duration_seconds",
          "HTTP client exchanges from the call to the response or error "
          "(redirects and the wait for a connection included).",
          {"host"}, {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10}))
    duration_metric_ = *fam;
  if (auto fam = reg->add_gauge("coactor_http_client_open_connections",
                                "HTTP client connections open or being "
                                "opened, idle ones included."))
    if (auto g = (*fam)->get({}))
      open_metric_ = *g;
}

void client_pool::count(const std::string& host, const std::string& status,
                        double seconds) {
  if (requests_metric_ != nullptr)
    if (auto c = requests_metric_->get({host, status}))
      (*c)->inc();
  if (duration_metric_ != nullptr)
    if (auto h = duration_metric_->get({host}))
      (*h)->observe(seconds);
}

std::function<void()> fetch_start::operator()(done_callback<response> done) {
  auto u = parse_url(url);
  if (!u) {
    done(std::move(u.error()));
    return {};
  }
  auto ioc = io::context(*sys);
  if (!ioc) {
    done(std::move(ioc.error()));
    return {};
  }
  auto* ctx = coactor::detail::node_context_of(*sys);
  auto& pool = ctx->service<client_pool>(); // after the I/O service
  auto x = std::make_shared<exchange>(**ioc, pool, std::move(req),
                                      std::move(opts), std::move(done));
  x->run(std::move(*u), url);
  return [x] {
    x->cancel();
  };
}

} // namespace detail

fetch_awaitable fetch(caf::scheduled_actor* self, std::string url, request req,
                      client_options opts) {
  // The exchange's own deadline names the phase; the await's is a backstop.
  auto backstop = opts.timeout + std::chrono::seconds{1};
  return fetch_awaitable{self, backstop,
                         detail::fetch_start{&self->home_system(),
                                             std::move(url), std::move(req),
                                             std::move(opts)}};
}

fetch_awaitable get(caf::scheduled_actor* self, std::string url,
                    caf::timespan timeout) {
  client_options opts;
  opts.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
  return fetch(self, std::move(url), request{}, std::move(opts));
}

} // namespace coactor::http
