#include "core/csv.h"

#include <csv.h>  // libcsv
#include <utf8proc.h>

#include <fstream>
#include <sstream>

#include "core/error.h"

namespace capbench {

namespace {

// RFC 4180: spaces are part of a field; libcsv would trim them by default.
int no_spaces(unsigned char) { return 0; }

struct ParseState {
  std::vector<CsvRecord> records;
  CsvRecord current;
  int64_t record_line = 0;  // 0 until the current record's first line is known
  int64_t line_number = 0;  // the line being fed
};

void on_field(void* data, size_t length, void* state) {
  auto* s = static_cast<ParseState*>(state);
  if (s->record_line == 0) s->record_line = s->line_number;  // several records on one line (CR endings)
  s->current.fields.emplace_back(static_cast<const char*>(data), length);
}

void on_record_end(int, void* state) {
  auto* s = static_cast<ParseState*>(state);
  s->current.line = s->record_line;
  for (const std::string& field : s->current.fields)
    if (!is_valid_utf8(field)) s->current.valid_utf8 = false;
  s->records.push_back(std::move(s->current));
  s->current = CsvRecord{};
  s->record_line = 0;
}

bool is_blank_line(std::string_view line) {
  return line == "\n" || line == "\r\n" || line == "\r" || line.empty();
}

class Parser {
 public:
  Parser() {
    if (csv_init(&parser_, CSV_STRICT | CSV_STRICT_FINI) != 0) throw Error("cannot initialise the CSV parser");
    csv_set_space_func(&parser_, no_spaces);
  }
  ~Parser() { csv_free(&parser_); }
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;
  csv_parser* get() { return &parser_; }

 private:
  csv_parser parser_;
};

}  // namespace

bool is_valid_utf8(std::string_view text) {
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(text.size());
  while (left > 0) {
    utf8proc_int32_t code_point = 0;
    utf8proc_ssize_t used = utf8proc_iterate(bytes, left, &code_point);
    if (used <= 0 || code_point < 0) return false;
    bytes += used;
    left -= used;
  }
  return true;
}

std::vector<CsvRecord> parse_csv(std::string_view text, const std::string& source) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  Parser parser;
  ParseState state;
  // Fed one physical line at a time, so that each record knows the line it starts on.
  int64_t& line_number = state.line_number;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    end = end == std::string_view::npos ? text.size() : end + 1;
    std::string_view line = text.substr(begin, end - begin);
    ++line_number;
    if (state.record_line == 0 && state.current.fields.empty() && !is_blank_line(line)) state.record_line = line_number;
    if (csv_parse(parser.get(), line.data(), line.size(), on_field, on_record_end, &state) != line.size())
      throw Error(source + ":" + std::to_string(line_number) + ": malformed CSV (" +
                  csv_strerror(csv_error(parser.get())) +
                  "): a quote inside an unquoted field, or text after a closing quote");
    begin = end;
  }
  if (csv_fini(parser.get(), on_field, on_record_end, &state) != 0 || csv_error(parser.get()) != CSV_SUCCESS)
    throw Error(source + ":" + std::to_string(state.record_line) + ": malformed CSV: a quoted field never ends");
  return std::move(state.records);
}

std::vector<CsvRecord> read_csv_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(file.string() + ": cannot open the CSV file");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) throw Error(file.string() + ": cannot read the CSV file");
  return parse_csv(bytes.str(), file.string());
}

std::string csv_field(std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(field);
  std::string quoted = "\"";
  for (char c : field) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

void write_csv_record(std::ostream& out, const std::vector<std::string>& fields) {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out << ',';
    out << csv_field(fields[i]);
  }
  out << '\n';
}

}  // namespace capbench
