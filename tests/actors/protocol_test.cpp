// The wire form of `batch_message<T>`: arithmetic items as one little-endian
// block, everything else item by item, and bad input failing cleanly.
#include "coactor/actors/protocol.hpp"

#include <cstdint>
#include <string>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/sec.hpp>
#include <catch2/catch.hpp>

using namespace coactor::actors;

namespace {

template <class T>
std::vector<char> save(batch_message<T> x) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  REQUIRE_FALSE(sink(x));
  return buf;
}

template <class T>
caf::error load(const std::vector<char>& buf, batch_message<T>& x) {
  caf::binary_deserializer source{nullptr, buf};
  if (auto err = source(x))
    return err;
  // Everything written is read: no trailing bytes.
  return source.remaining() == 0 ? caf::error{} : caf::sec::invalid_argument;
}

template <class T>
batch_message<T> round_trip(const batch_message<T>& x) {
  batch_message<T> y;
  auto err = load(save(x), y);
  REQUIRE_FALSE(err);
  return y;
}

// The bytes of seq and emitted as CAF writes them (two 64-bit integers), and
// the sequence size of `n` items (varbyte, one byte below 128).
constexpr size_t header_bytes = 16;

} // namespace

TEST_CASE("batches of numbers cross the wire as one little-endian block",
          "[protocol]") {
  batch_message<int64_t> x{7, 42, {0x0102030405060708, -1, 0}};
  auto buf = save(x);
  // Header, a one-byte sequence size, then 3 × 8 bytes and nothing else: the
  // element-wise form would be the same size, so check the byte order, which
  // CAF's integer form (network order) would reverse.
  REQUIRE(buf.size() == header_bytes + 1 + 3 * 8);
  CHECK(buf[header_bytes] == 3);
  auto first = header_bytes + 1;
  CHECK(buf[first] == 0x08);
  CHECK(buf[first + 7] == 0x01);
  auto y = round_trip(x);
  CHECK(y.seq == 7);
  CHECK(y.emitted == 42);
  CHECK(y.items == x.items);
}

TEST_CASE("every arithmetic item type and an empty batch round-trip",
          "[protocol]") {
  CHECK(round_trip(batch_message<double>{1, 2, {0.5, -1e300, 3.25}}).items
        == std::vector<double>{0.5, -1e300, 3.25});
  CHECK(round_trip(batch_message<float>{1, 2, {1.5f, -2.0f}}).items
        == std::vector<float>{1.5f, -2.0f});
  CHECK(round_trip(batch_message<uint16_t>{1, 2, {65535, 1}}).items
        == std::vector<uint16_t>{65535, 1});
  CHECK(round_trip(batch_message<int32_t>{0, 0, {}}).items.empty());
  std::vector<int64_t> many(100'000);
  for (size_t i = 0; i < many.size(); ++i)
    many[i] = static_cast<int64_t>(i * i);
  // More than one chunk of the reader.
  CHECK(round_trip(batch_message<int64_t>{3, 4, many}).items == many);
}

TEST_CASE("batches of other types still go item by item", "[protocol]") {
  static_assert(!detail::raw_items<std::string>);
  static_assert(!detail::raw_items<bool>);
  static_assert(!detail::raw_items<long double>);
  static_assert(detail::raw_items<int64_t> && detail::raw_items<double>);
  batch_message<std::string> x{5, 6, {"a", "", "ccc"}};
  CHECK(round_trip(x).items == x.items);
}

TEST_CASE("a truncated batch or a size prefix beyond the data is an error",
          "[protocol]") {
  auto buf = save(batch_message<int64_t>{1, 2, {10, 20, 30}});
  SECTION("truncated in the items") {
    buf.resize(buf.size() - 3);
    batch_message<int64_t> y;
    CHECK(load(buf, y) == caf::sec::end_of_stream);
  }
  SECTION("truncated in the header") {
    buf.resize(10);
    batch_message<int64_t> y;
    CHECK(load(buf, y) == caf::sec::end_of_stream);
  }
  SECTION("a size prefix of 2^28 items over 24 bytes of data") {
    // Varbyte 0x80 0x80 0x80 0x80 0x01 = 2^28.
    std::vector<char> lying(buf.begin(), buf.begin() + header_bytes);
    for (char c : {'\x80', '\x80', '\x80', '\x80', '\x01'})
      lying.push_back(c);
    lying.insert(lying.end(), buf.begin() + header_bytes + 1, buf.end());
    batch_message<int64_t> y;
    CHECK(load(lying, y) == caf::sec::end_of_stream);
    // The reader stopped after one chunk, not 2 GiB.
    CHECK(y.items.capacity() <= size_t{1} << 17);
  }
}
