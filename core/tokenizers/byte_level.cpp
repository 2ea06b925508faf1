#include "core/tokenizers/byte_level.h"

#include <unordered_map>

#include "core/tokenizers/unicode_text.h"

namespace capbench::byte_level {

namespace {

// bytes_to_unicode: printable Latin-1 bytes stand for themselves, the others
// take the code points from 256 upwards in byte order.
std::array<char32_t, 256> byte_code_points() {
  std::array<char32_t, 256> cps{};
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    cps[b] = printable ? static_cast<char32_t>(b) : next++;
  }
  return cps;
}

}  // namespace

const std::array<std::string, 256>& byte_symbols() {
  static const std::array<std::string, 256> symbols = [] {
    std::array<std::string, 256> out;
    const auto cps = byte_code_points();
    for (int b = 0; b < 256; ++b) unicode::append_utf8(out[b], cps[b]);
    return out;
  }();
  return symbols;
}

void encode(std::string_view bytes, std::string& out) {
  const auto& symbols = byte_symbols();
  for (char c : bytes) out += symbols[static_cast<unsigned char>(c)];
}

std::string decode(std::string_view text) {
  static const std::unordered_map<char32_t, unsigned char> byte_of = [] {
    std::unordered_map<char32_t, unsigned char> map;
    const auto cps = byte_code_points();
    for (int b = 0; b < 256; ++b) map[cps[b]] = static_cast<unsigned char>(b);
    return map;
  }();
  std::string bytes;
  bytes.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const size_t start = pos;
    const char32_t cp = unicode::next_code_point(text, pos);
    if (auto it = byte_of.find(cp); it != byte_of.end())
      bytes += static_cast<char>(it->second);
    else
      bytes.append(text.substr(start, pos - start));
  }
  return unicode::decode_utf8_replace(bytes);
}

}  // namespace capbench::byte_level
