// How far sources of a known size got (source_part::done), for the ETA of
// coactor run's progress lines.
#include <catch2/catch.hpp>

#include "spec/spec_support.hpp"

using namespace coactor;
using namespace coactor::testing;
using Catch::Matchers::WithinAbs;

namespace {

spec::plan plan_of(const std::string& source) {
  auto r = parse_text(source + "[sink]\nkind = \"collect\"\n",
                      test_registry(std::make_shared<collected>()));
  INFO(errors_of(r));
  REQUIRE(r.ok());
  return r.get();
}

} // namespace

TEST_CASE("numbers and a counted timer know how far they got", "[spec]") {
  auto p = plan_of("[[source]]\nkind = \"numbers\"\nfrom = 3\nto = 12\n"
                   "step = 4\n");
  auto& done = p.sources[0].source.done;
  REQUIRE(done);
  CHECK_THAT(*done(0), WithinAbs(0, 1e-9));
  CHECK_THAT(*done(1), WithinAbs(1.0 / 3, 1e-9));
  CHECK_THAT(*done(3), WithinAbs(1, 1e-9));
  auto empty = plan_of("[[source]]\nkind = \"numbers\"\nfrom = 5\nto = 5\n");
  CHECK(*empty.sources[0].source.done(0) == 1);
  auto timer = plan_of("[[source]]\nkind = \"timer\"\ncount = 4\n");
  CHECK_THAT(*timer.sources[0].source.done(1), WithinAbs(0.25, 1e-9));
  CHECK_FALSE(plan_of("[[source]]\nkind = \"timer\"\n").sources[0].source.done);
  CHECK_FALSE(plan_of("[[source]]\nkind = \"stdin\"\n").sources[0].source.done);
}

TEST_CASE("a file source tells how much of the file it read", "[spec]") {
  temp_file f{"alpha\nbeta\ngamma\n"};
  auto p = plan_of("[[source]]\nkind = \"file\"\npath = \"" + f.path + "\"\n");
  auto done = p.sources[0].source.done;
  REQUIRE(done);
  CHECK_FALSE(done(0)); // the size is known when the run starts
  node_options opts;
  opts.threads = 2;
  opts.log_level = log::level::warn;
  auto n = node::create(opts);
  REQUIRE(n);
  auto summary = spec::build(*n, p).run();
  n->stop();
  REQUIRE(summary);
  REQUIRE(done(0));
  CHECK_THAT(*done(0), WithinAbs(1, 1e-9));
}
