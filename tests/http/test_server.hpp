// A small HTTPS test server on Boost.Beast: a self-signed certificate made
// with the openssl tool, one thread answering each connection once.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <unistd.h>

namespace coactor::testing {

/// Serves https on 127.0.0.1 (port 0) with a certificate for "localhost"
/// signed by itself, so that the certificate file is also the CA file.
/// Every request gets "tls ok" and the connection closes. Threading: its
/// own thread, joined by the destructor; `accepted()` is thread-safe.
class tls_test_server {
 public:
  tls_test_server()
      : dir_(std::filesystem::temp_directory_path()
             / ("coactor-tls-" + std::to_string(::getpid()) + "-"
                + std::to_string(reinterpret_cast<std::uintptr_t>(this)))),
        ctx_(boost::asio::ssl::context::tls_server),
        acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    std::filesystem::create_directories(dir_);
    auto cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "
               "/CN=localhost -addext subjectAltName=DNS:localhost -keyout '"
               + (dir_ / "key.pem").string() + "' -out '" + ca_file()
               + "' >/dev/null 2>&1";
    ok_ = std::system(cmd.c_str()) == 0;
    if (!ok_)
      return;
    ctx_.use_certificate_chain_file(ca_file());
    ctx_.use_private_key_file((dir_ / "key.pem").string(),
                              boost::asio::ssl::context::pem);
    thread_ = std::thread{[this] {
      run();
    }};
  }

  ~tls_test_server() {
    stopping_ = true;
    if (thread_.joinable()) {
      boost::system::error_code ec;
      boost::asio::ip::tcp::socket wake{ioc_};
      wake.connect(acceptor_.local_endpoint(), ec);
      thread_.join();
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  tls_test_server(const tls_test_server&) = delete;
  tls_test_server& operator=(const tls_test_server&) = delete;

  /// Whether the certificate was made and the server runs.
  bool ok() const { return ok_; }

  /// The PEM certificate, usable as `client_options::ca_file`.
  std::string ca_file() const { return (dir_ / "cert.pem").string(); }

  /// "https://localhost:PORT".
  std::string url() const {
    return "https://localhost:"
           + std::to_string(acceptor_.local_endpoint().port());
  }

  /// Connections accepted so far.
  int accepted() const { return accepted_; }

 private:
  void run() {
    namespace bhttp = boost::beast::http;
    while (!stopping_) {
      boost::system::error_code ec;
      boost::asio::ip::tcp::socket sock{ioc_};
      acceptor_.accept(sock, ec);
      if (ec || stopping_)
        return;
      ++accepted_;
      boost::asio::ssl::stream<boost::asio::ip::tcp::socket> s{std::move(sock),
                                                               ctx_};
      s.handshake(boost::asio::ssl::stream_base::server, ec);
      if (ec)
        continue; // e.g. the client rejected the certificate
      boost::beast::flat_buffer buf;
      bhttp::request<bhttp::string_body> req;
      bhttp::read(s, buf, req, ec);
      if (ec)
        continue;
      bhttp::response<bhttp::string_body> res{bhttp::status::ok, 11};
      res.set(bhttp::field::content_type, "text/plain");
      res.body() = "tls ok";
      res.keep_alive(false);
      res.prepare_payload();
      bhttp::write(s, res, ec);
      s.shutdown(ec);
    }
  }

  std::filesystem::path dir_;
  bool ok_ = false;
  boost::asio::io_context ioc_;
  boost::asio::ssl::context ctx_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

} // namespace coactor::testing
