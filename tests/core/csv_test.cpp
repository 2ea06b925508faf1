#include "core/csv.h"

#include <doctest/doctest.h>

#include <sstream>

#include "core/error.h"

using capbench::CsvRecord;
using capbench::parse_csv;

TEST_CASE("plain records, with the line each starts on") {
  auto records = parse_csv("imgId,prompt\na,one\nb,two\n", "t.csv");
  REQUIRE(records.size() == 3);
  CHECK(records[0].fields == std::vector<std::string>{"imgId", "prompt"});
  CHECK(records[2].fields == std::vector<std::string>{"b", "two"});
  CHECK(records[0].line == 1);
  CHECK(records[2].line == 3);
}

TEST_CASE("quoted fields hold commas, doubled quotes and line breaks") {
  auto records = parse_csv("id,text\n1,\"a, b\"\n2,\"say \"\"hi\"\"\"\n3,\"two\nlines\"\n4,after\n", "t.csv");
  REQUIRE(records.size() == 5);
  CHECK(records[1].fields[1] == "a, b");
  CHECK(records[2].fields[1] == "say \"hi\"");
  CHECK(records[3].fields[1] == "two\nlines");
  CHECK(records[3].line == 4);
  CHECK(records[4].line == 6);  // the record after a two-line field
  CHECK(records[4].fields[1] == "after");
}

TEST_CASE("CRLF, a byte order mark, blank lines, spaces and a missing final line break") {
  auto records = parse_csv("\xEF\xBB\xBFid,text\r\n\r\n x , y \r\n\nlast,row", "t.csv");
  REQUIRE(records.size() == 3);
  CHECK(records[0].fields[0] == "id");
  CHECK(records[1].fields == std::vector<std::string>{" x ", " y "});  // RFC 4180: spaces belong to the field
  CHECK(records[1].line == 3);
  CHECK(records[2].fields == std::vector<std::string>{"last", "row"});
  CHECK(records[2].line == 5);
  auto empty_fields = parse_csv("a,,\"\"\n", "t.csv");
  CHECK(empty_fields[0].fields == std::vector<std::string>{"a", "", ""});
}

TEST_CASE("malformed quoting is an error naming the file and line") {
  CHECK_THROWS_WITH_AS(parse_csv("id,text\n1,ok\n2,bad \"quote\n", "p.csv"), doctest::Contains("p.csv:3"),
                       capbench::Error);
  CHECK_THROWS_WITH_AS(parse_csv("id,text\n1,\"closed\" trailing\n", "p.csv"), doctest::Contains("p.csv:2"),
                       capbench::Error);
  CHECK_THROWS_WITH_AS(parse_csv("id,text\n1,ok\n2,\"never\nends\n", "p.csv"), doctest::Contains("p.csv:3: malformed"),
                       capbench::Error);
}

TEST_CASE("records that are not UTF-8 are flagged, not dropped") {
  auto records = parse_csv("id,text\n1,caf\xE9\n2,caf\xC3\xA9\n3,\xED\xA0\x80\n", "t.csv");
  REQUIRE(records.size() == 4);
  CHECK_FALSE(records[1].valid_utf8);
  CHECK(records[1].fields[1] == "caf\xE9");
  CHECK(records[2].valid_utf8);
  CHECK_FALSE(records[3].valid_utf8);  // a UTF-16 surrogate
  CHECK(capbench::is_valid_utf8("plain \xF0\x9F\x98\x80"));
  CHECK_FALSE(capbench::is_valid_utf8("\xC0\xAF"));  // overlong '/'
}

TEST_CASE("writing quotes only what needs it and reads back unchanged") {
  const std::vector<std::string> fields = {"plain", "a, b", "say \"hi\"", "two\nlines", "", " spaced "};
  CHECK(capbench::csv_field("plain") == "plain");
  CHECK(capbench::csv_field("a,b") == "\"a,b\"");
  CHECK(capbench::csv_field("q\"") == "\"q\"\"\"");
  std::ostringstream out;
  capbench::write_csv_record(out, fields);
  capbench::write_csv_record(out, {"x"});
  auto records = parse_csv(out.str(), "round.csv");
  REQUIRE(records.size() == 2);
  CHECK(records[0].fields == fields);
  CHECK(records[1].line == 3);
}

TEST_CASE("a missing file is an error naming it") {
  CHECK_THROWS_WITH_AS(capbench::read_csv_file("no/such/file.csv"), doctest::Contains("no/such/file.csv"),
                       capbench::Error);
}
