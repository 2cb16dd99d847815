// The directory source: the lines of the matching files in name order, and
// its located errors.
#include <filesystem>

#include <catch2/catch.hpp>

#include "spec/spec_support.hpp"

using namespace coactor;
using namespace coactor::testing;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

// A temporary directory removed with its contents at the end of the test.
struct temp_dir {
  std::string path;
  temp_dir() {
    char name[] = "/tmp/coactor_spec_dir_XXXXXX";
    REQUIRE(::mkdtemp(name) != nullptr);
    path = name;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream{path + "/" + name} << text;
  }
};

std::string dir_spec(const std::string& options) {
  return "[[source]]\nkind = \"directory\"\npath = \"${D}\"\n" + options
         + "[sink]\nkind = \"collect\"\n";
}

} // namespace

TEST_CASE("directory emits the lines of every regular file in name order",
          "[spec]") {
  temp_dir d;
  d.write("b.txt", "b1\nb2\n");
  d.write("a.txt", "a1\n");
  d.write("c.log", "c1\nc2"); // no line end at the end
  d.write(".hidden", "h\n");
  fs::create_directory(d.path + "/sub");
  d.write("sub/x.txt", "x\n");
  auto r = run_text(dir_spec(""), {{"D", d.path}});
  REQUIRE(r.summary);
  CHECK(r.items == std::vector<std::string>{"a1", "b1", "b2", "c1", "c2"});
}

TEST_CASE("directory with a pattern reads only the matching files", "[spec]") {
  temp_dir d;
  d.write("2.log", "two\n");
  d.write("1.log", "one\n");
  d.write("1.txt", "not this\n");
  auto r = run_text(dir_spec("pattern = \"*.log\"\n"), {{"D", d.path}});
  REQUIRE(r.summary);
  CHECK(r.items == std::vector<std::string>{"one", "two"});
  auto none = run_text(dir_spec("pattern = \"*.csv\"\n"), {{"D", d.path}});
  REQUIRE(none.summary);
  CHECK(none.items.empty());
}

TEST_CASE("directory items declare what the lines hold", "[spec]") {
  temp_dir d;
  d.write("a.json", "{\"k\":\"v\"}\n");
  auto r = run_text("[[source]]\nkind = \"directory\"\npath = \"${D}\"\n"
                    "items = \"json\"\n[[stage]]\nkind = \"json_field\"\n"
                    "field = \"k\"\n[sink]\nkind = \"collect\"\n",
                    {{"D", d.path}});
  REQUIRE(r.summary);
  CHECK(r.items == std::vector<std::string>{"v"});
}

TEST_CASE("directory errors are located at the option", "[spec]") {
  auto reg = test_registry(std::make_shared<collected>());
  auto missing = first_error("[[source]]\nkind = \"directory\"\npath = "
                             "\"/nonexistent/coactor\"\n[sink]\nkind = "
                             "\"collect\"\n",
                             "directory");
  CHECK(missing.to_string()
        == "t.toml:3:8: source 'directory': option 'path': no such directory "
           "'/nonexistent/coactor'");
  temp_file f{"x\n"};
  auto r = parse_text(dir_spec(""), reg, {{"D", f.path}});
  REQUIRE_FALSE(r.ok());
  CHECK(r.errors()[0].to_string()
        == "t.toml:3:8: source 'directory': option 'path': '" + f.path
               + "' is not a directory");
  auto no_path = first_error("[[source]]\nkind = \"directory\"\n[sink]\nkind "
                             "= \"collect\"\n",
                             "path");
  CHECK(no_path.to_string()
        == "t.toml:1:1: source 'directory': missing option 'path' (a string)");
  temp_dir d;
  auto r2 = parse_text(dir_spec("pattern = \"\"\n"), reg, {{"D", d.path}});
  REQUIRE_FALSE(r2.ok());
  CHECK_THAT(r2.errors()[0].to_string(),
             Contains("t.toml:4:11: source 'directory': option 'pattern': "
                      "expected a glob"));
}
