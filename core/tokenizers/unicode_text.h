#pragma once
// UTF-8 and Unicode helpers with the semantics of Python's str, which the
// Hugging Face tokenizers are written against (character classes from utf8proc).
#include <cstdint>
#include <string>
#include <string_view>

namespace capbench::unicode {

// Throws Error naming `what` and the byte offset of the first invalid sequence.
void require_valid_utf8(std::string_view text, const std::string& what);

// Code point at `pos` of valid UTF-8; advances `pos` past it.
char32_t next_code_point(std::string_view text, size_t& pos);
void append_utf8(std::string& out, char32_t cp);
std::u32string to_u32(std::string_view valid_utf8);
std::string to_utf8(std::u32string_view cps);

// bytes.decode("utf-8", errors="replace"): each maximal invalid subpart -> U+FFFD.
std::string decode_utf8_replace(std::string_view bytes);

// str.isspace() of one code point.
bool is_python_space(char32_t cp);
// str.lstrip() / str.rstrip() / str.strip() without arguments.
std::string_view lstrip(std::string_view text);
std::string_view rstrip(std::string_view text);
std::string_view strip(std::string_view text);

// The general category as two letters ("Lu", "Zs", "Cn", ...).
const char* category(char32_t cp);

// unicodedata.normalize("NFC"/"NFD", text) of valid UTF-8.
std::string nfc(std::string_view text);
std::string nfd(std::string_view text);

// str.lower() of one character, as Python does it with no context around it.
void append_lower(std::u32string& out, char32_t cp);

}  // namespace capbench::unicode
