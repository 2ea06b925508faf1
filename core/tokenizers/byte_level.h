#pragma once
// GPT-2's byte-level alphabet: every byte maps to one printable Unicode
// character (bytes_to_unicode), so that BPE works on text without spaces or
// control characters.
#include <array>
#include <string>
#include <string_view>

namespace capbench::byte_level {

// The UTF-8 of the character that stands for each byte.
const std::array<std::string, 256>& byte_symbols();

// Appends the byte-level form of raw bytes.
void encode(std::string_view bytes, std::string& out);

// The bytes behind a string of byte-level characters, decoded as UTF-8 with
// errors="replace". Characters outside the alphabet (an added token's text)
// are kept as they are.
std::string decode(std::string_view symbols);

}  // namespace capbench::byte_level
