#pragma once
// CSV files as RFC 4180 defines them: fields separated by commas, quoted with
// double quotes when they hold commas, quotes (doubled) or line breaks. Reading
// keeps the line each record starts on, so that callers can say where bad data is.
#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace capbench {

struct CsvRecord {
  std::vector<std::string> fields;  // unquoted field texts, spaces kept
  int64_t line = 0;                 // 1-based line of the file where the record starts
  bool valid_utf8 = true;           // false when some field is not valid UTF-8 (fields keep the raw bytes)
};

// Parses `text` (a UTF-8 byte order mark at its start is skipped; blank lines
// between records are ignored; the last record needs no line break). `source`
// names the text in errors. Throws Error "<source>:<line>: ..." for malformed
// quoting (a quote inside an unquoted field, text after a closing quote, a quoted
// field that never ends).
std::vector<CsvRecord> parse_csv(std::string_view text, const std::string& source);

// Reads and parses a whole file; errors name the file.
std::vector<CsvRecord> read_csv_file(const std::filesystem::path& file);

// The field as it must appear in a CSV line: unchanged, or quoted with inner
// quotes doubled when it holds a comma, a quote, CR or LF.
std::string csv_field(std::string_view field);

// Writes one record: the fields joined by commas, then "\n".
void write_csv_record(std::ostream& out, const std::vector<std::string>& fields);

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or code
// points past U+10FFFF).
bool is_valid_utf8(std::string_view text);

}  // namespace capbench
