// The baseline of the HTTP benchmarks: a plain Boost.Beast async HTTP/1.1
// server in the shape of Beast's own async example, answering every request
// with the same text body, with keep-alive. No actors, no routing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace coactor::bench {

/// Listens on 127.0.0.1 (a free port) and serves on `threads` threads of
/// its own until destroyed. Threading: construct and destroy on one thread.
class beast_hello_server {
 public:
  beast_hello_server(std::string body, unsigned threads)
      : body_(std::make_shared<const std::string>(std::move(body))),
        acceptor_(boost::asio::make_strand(ioc_),
                  {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    accept();
    for (unsigned i = 0; i < threads; ++i)
      threads_.emplace_back([this] { ioc_.run(); });
  }

  beast_hello_server(const beast_hello_server&) = delete;
  beast_hello_server& operator=(const beast_hello_server&) = delete;

  ~beast_hello_server() {
    ioc_.stop();
    for (auto& t : threads_)
      t.join();
  }

  [[nodiscard]] uint16_t port() const {
    return acceptor_.local_endpoint().port();
  }

 private:
  using tcp = boost::asio::ip::tcp;

  class session : public std::enable_shared_from_this<session> {
   public:
    session(tcp::socket sock, std::shared_ptr<const std::string> body)
        : stream_(std::move(sock)), body_(std::move(body)) {}

    void read() {
      req_ = {};
      boost::beast::http::async_read(
          stream_, buf_, req_,
          [self = shared_from_this()](boost::beast::error_code ec,
                                      std::size_t) {
            if (!ec)
              self->write();
          });
    }

   private:
    void write() {
      res_ = {boost::beast::http::status::ok, req_.version()};
      res_.set(boost::beast::http::field::content_type,
               "text/plain; charset=utf-8");
      res_.keep_alive(req_.keep_alive());
      res_.body() = *body_;
      res_.prepare_payload();
      boost::beast::http::async_write(
          stream_, res_,
          [self = shared_from_this()](boost::beast::error_code ec,
                                      std::size_t) {
            if (!ec && self->res_.keep_alive())
              self->read();
          });
    }

    boost::beast::tcp_stream stream_;
    std::shared_ptr<const std::string> body_;
    boost::beast::flat_buffer buf_;
    boost::beast::http::request<boost::beast::http::string_body> req_;
    boost::beast::http::response<boost::beast::http::string_body> res_;
  };

  void accept() {
    acceptor_.async_accept(
        boost::asio::make_strand(ioc_),
        [this](boost::beast::error_code ec, tcp::socket sock) {
          if (!ec)
            std::make_shared<session>(std::move(sock), body_)->read();
          accept();
        });
  }

  boost::asio::io_context ioc_;
  std::shared_ptr<const std::string> body_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
};

} // namespace coactor::bench
