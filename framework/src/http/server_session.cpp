// One HTTP connection of a server: Beast reads and writes on the session's
// strand; requests go to handler actors, responses come back in order.
#include <optional>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <caf/send.hpp>

#include "server_state.hpp"

namespace coactor::http::detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;

namespace {

/// Finds the route for `req`: its index, or 404 / 405 as a response.
std::variant<std::size_t, response> match(const router& routes,
                                          const request& req) {
  std::string allow;
  auto path = req.path();
  const auto& xs = routes.entries();
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const auto& e = xs[i];
    bool hit = e.prefix ? path.starts_with(e.path) : path == e.path;
    if (!hit)
      continue;
    if (e.method == req.method)
      return i;
    if (allow.find(e.method) == std::string::npos)
      allow += (allow.empty() ? "" : ", ") + e.method;
  }
  if (allow.empty())
    return response::text(404, "no route for " + std::string{path} + "\n");
  auto r = response::text(405, req.method + " is not allowed here\n");
  r.fields.emplace_back("Allow", allow);
  return r;
}

} // namespace

class session : public std::enable_shared_from_this<session> {
 public:
  session(std::shared_ptr<server_state> st, tcp::socket sock)
      : st_(std::move(st)), stream_(std::move(sock)),
        timer_(stream_.get_executor()) {}

  void run(bool refuse) {
    net::dispatch(stream_.get_executor(), [self = shared_from_this(), refuse] {
      if (refuse) {
        self->read_at_ = clock_type::now();
        self->send(response::text(503, "too many connections\n"), false);
      } else {
        self->read();
      }
    });
  }

  [[nodiscard]] net::any_io_executor executor() {
    return stream_.get_executor();
  }

  /// On the strand: a response from a handler (or the handler timeout).
  void on_reply(response r) {
    if (!busy_ || closed_)
      return;
    send(std::move(r), keep_alive_ && !st_->stopping);
  }

  /// On the strand: close now if idle, else after the current response.
  void close_soon(bool force) {
    if (force || !busy_)
      close();
    else if (phase_ == phase::pacing) // a stopping server waits for no turn
      dispatch_pending();
    // else: `send` sees `stopping` and closes after writing.
  }

 private:
  using clock_type = net::steady_timer::clock_type;

  /// What the connection waits for; each phase has a deadline.
  enum class phase {
    none,     // between steps (no deadline)
    reading,  // a request, or the next one on a kept connection: 408 / close
    pacing,   // the request's turn (`max_requests_per_second`): dispatch
    handling, // a handler's answer: 504
    writing,  // the peer taking the response: close
  };

  // Enters `p`, due within `limit`. Our own timer, not the stream's: an
  // expired tcp_stream closes the socket, and a begun request still has to
  // get its 408.
  void expect(phase p, clock_type::duration limit) {
    phase_ = p;
    deadline_ = clock_type::now() + limit;
    if (!timer_armed_ || deadline_ < timer_expiry_)
      arm();
  }

  void arm() {
    timer_armed_ = true;
    timer_expiry_ = deadline_;
    timer_.expires_at(deadline_); // aborts an earlier wait
    timer_.async_wait([weak = weak_from_this()](beast::error_code ec) {
      auto self = weak.lock();
      if (self && ec != net::error::operation_aborted)
        self->on_timer();
    });
  }

  void on_timer() {
    timer_armed_ = false;
    if (closed_ || phase_ == phase::none)
      return;
    if (clock_type::now() < deadline_) { // the phase began after arming
      arm();
      return;
    }
    beast::error_code ignored;
    switch (phase_) {
      case phase::reading:
        read_timed_out_ = true;
        stream_.socket().cancel(ignored); // on_read answers 408 or closes
        break;
      case phase::pacing: dispatch_pending(); break;
      case phase::handling:
        if (auto slot = slot_.lock())
          slot->deliver(response::text(504, "the handler did not answer in "
                                            "time\n"));
        break;
      case phase::writing:
        stream_.socket().cancel(ignored); // on_write closes
        break;
      case phase::none: break;
    }
  }

  void read() {
    if (st_->stopping) {
      close();
      return;
    }
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(st_->opts.max_header_bytes, UINT32_MAX)));
    parser_->body_limit(st_->opts.max_body_bytes);
    read_timed_out_ = false;
    expect(phase::reading, st_->opts.read_timeout);
    bhttp::async_read(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    phase_ = phase::none;
    if (closed_)
      return;
    read_at_ = clock_type::now();
    if (ec && read_timed_out_)
      ec = beast::error::timeout;
    if (ec) {
      on_read_error(ec);
      return;
    }
    auto msg = parser_->release();
    request req;
    req.method = std::string{msg.method_string()};
    req.target = std::string{msg.target()};
    for (const auto& f : msg)
      req.fields.emplace_back(std::string{f.name_string()},
                              std::string{f.value()});
    req.body = std::move(msg.body());
    keep_alive_ = msg.keep_alive();
    busy_ = true;
    if (auto wait = st_->pace(read_at_); wait > clock_type::duration::zero()) {
      pending_ = std::move(req);
      expect(phase::pacing, wait);
      return;
    }
    dispatch(std::move(req));
  }

  // After pacing: routes `pending_`.
  void dispatch_pending() {
    phase_ = phase::none;
    auto req = std::move(*pending_);
    pending_.reset();
    dispatch(std::move(req));
  }

  // Routes `req` and hands it to its handler.
  void dispatch(request req) {
    auto m = match(st_->routes, req);
    route_ = std::holds_alternative<std::size_t>(m)
                 ? std::optional<std::size_t>{std::get<std::size_t>(m)}
                 : std::nullopt;
    if (auto* r = std::get_if<response>(&m)) {
      send(std::move(*r), keep_alive_ && !st_->stopping);
      return;
    }
    const auto& e = st_->routes.entries()[*route_];
    if (e.where == run_on::io_thread) {
      // Only plain routes have a `where`: see `router::route`.
      send(call_function(std::get<function_handler>(e.target), req, st_->log),
           keep_alive_ && !st_->stopping);
      return;
    }
    auto slot = std::make_shared<reply_slot>(weak_from_this(),
                                             stream_.get_executor());
    // Weak: a slot dropped by its handler actor answers 503 at once.
    slot_ = slot;
    expect(phase::handling, st_->opts.handler_timeout);
    auto target = st_->next_handler_actor();
    if (!target) { // the node is stopping
      slot->deliver(response::text(503, "the server is stopping\n"));
      return;
    }
    caf::anon_send(target, http_call{std::get<std::size_t>(m), std::move(req),
                                     std::move(slot)});
  }

  void on_read_error(beast::error_code ec) {
    // A peer that closed or went idle between requests is no error.
    bool begun = buffer_.size() > 0 || (parser_ && parser_->got_some());
    if (ec == bhttp::error::end_of_stream
        || (!begun && ec == beast::error::timeout)) {
      close();
      return;
    }
    unsigned status = 400;
    std::string why = "malformed request: " + ec.message();
    if (ec == beast::error::timeout) {
      status = 408;
      why = "request not complete within the read timeout";
    } else if (ec == bhttp::error::header_limit) {
      status = 431;
      why = "request header fields too large";
    } else if (ec == bhttp::error::body_limit) {
      status = 413;
      why = "request body too large";
    } else if (ec == net::error::connection_reset || ec == net::error::eof
               || ec == bhttp::error::partial_message) {
      close();
      return;
    }
    ++st_->malformed;
    route_.reset();
    st_->log->debug("{}: {} ({})", peer(), why, status);
    busy_ = true;
    send(response::text(status, why + "\n"), false);
  }

  void send(response r, bool keep_alive) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->version(11);
    res->result(r.status);
    for (auto& [k, v] : r.fields)
      res->insert(k, v);
    res->set(bhttp::field::server, "coactor");
    res->body() = std::move(r.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    keep_alive_ = keep_alive;
    ++st_->requests;
    st_->count_request(route_, r.status, clock_type::now() - read_at_);
    expect(phase::writing, st_->opts.read_timeout); // a peer that never reads
    bhttp::async_write(
        stream_, *res,
        [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
          self->on_write(ec);
        });
  }

  void on_write(beast::error_code ec) {
    phase_ = phase::none;
    busy_ = false;
    if (ec || !keep_alive_ || st_->stopping) {
      close();
      return;
    }
    read();
  }

  void close() {
    if (closed_)
      return;
    closed_ = true;
    timer_.cancel();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
    st_->closed(this);
  }

  std::string peer() {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    return ec ? std::string{"a peer"}
              : ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  std::shared_ptr<server_state> st_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::weak_ptr<reply_slot> slot_;   // of the request being handled
  std::optional<std::size_t> route_; // of the request being answered
  std::optional<request> pending_;   // read, waiting for its turn (pacing)
  clock_type::time_point read_at_;   // when the request being answered was read
  // One timer for every phase, re-armed only when it fires early or a phase
  // needs an earlier deadline: nothing per request on the hot path.
  net::steady_timer timer_;
  phase phase_ = phase::none;
  clock_type::time_point deadline_;     // of `phase_`
  clock_type::time_point timer_expiry_; // what `timer_` is armed for
  bool timer_armed_ = false;
  bool read_timed_out_ = false;
  bool keep_alive_ = true;
  bool busy_ = false; // a request is being handled or answered
  bool closed_ = false;
};

reply_slot::~reply_slot() {
  deliver(response::text(503, "the server stopped before the handler "
                              "answered\n"));
}

void reply_slot::deliver(response r) {
  if (done_.exchange(true))
    return;
  if (auto s = session_.lock())
    net::post(ex_,
              [s, r = std::move(r)]() mutable { s->on_reply(std::move(r)); });
}

void start_session(const std::shared_ptr<server_state>& st, tcp::socket sock,
                   bool refuse) {
  auto s = std::make_shared<session>(st, std::move(sock));
  st->opened(s);
  s->run(refuse);
}

void close_session(const std::shared_ptr<session>& s, bool force) {
  // The session's executor is its socket's strand; reach it through a post.
  net::post(s->executor(), [s, force] { s->close_soon(force); });
}

} // namespace coactor::http::detail
