#include "coactor/error.hpp"

#include <caf/sec.hpp>
#include <catch2/catch.hpp>

using namespace coactor;

TEST_CASE("an errc converts to a caf::error of coactor's category",
          "[framework]") {
  caf::error err = errc::timeout;
  CHECK(err.category() == error_category);
  CHECK(err.code() == static_cast<uint8_t>(errc::timeout));
  CHECK(is(err, errc::timeout));
  CHECK_FALSE(is(err, errc::cancelled));
  CHECK(err == errc::timeout);
}

TEST_CASE("errors render with their name and context", "[framework]") {
  CHECK(to_string(errc::target_down) == "target_down");
  CHECK(describe(make_error(errc::timeout)) == "coactor::timeout");
  auto err = make_error(errc::timeout, "ask to 'db' after 5s");
  CHECK(describe(err) == "coactor::timeout (ask to 'db' after 5s)");
  CHECK(context_of(err) == "ask to 'db' after 5s");
  CHECK(is(err, errc::timeout));
}

TEST_CASE("CAF's own errors render by name", "[framework]") {
  caf::error err = caf::sec::request_timeout;
  CHECK(describe(err) == "caf::request_timeout");
  CHECK(describe(caf::error{}) == "none");
}

TEST_CASE("every errc has a distinct name", "[framework]") {
  std::vector<std::string_view> names;
  for (int i = 1; i <= static_cast<int>(errc::restart_limit); ++i)
    names.push_back(to_string(static_cast<errc>(i)));
  std::sort(names.begin(), names.end());
  CHECK(std::adjacent_find(names.begin(), names.end()) == names.end());
  CHECK(std::find(names.begin(), names.end(), "unknown") == names.end());
}
