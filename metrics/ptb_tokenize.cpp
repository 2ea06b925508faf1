#include "metrics/ptb_tokenize.h"

#include <utf8proc.h>

#include <algorithm>
#include <array>

namespace capbench {

namespace {

// Lower-cases (full Unicode, as Java's toLowerCase mostly does) and maps curly
// quotes to ASCII ones; line breaks and tabs become spaces. Invalid UTF-8 bytes
// pass through unchanged.
std::string lower_and_normalise(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(text.size());
  while (left > 0) {
    utf8proc_int32_t cp = 0;
    utf8proc_ssize_t used = utf8proc_iterate(bytes, left, &cp);
    if (used <= 0 || cp < 0) {
      out += static_cast<char>(*bytes);
      ++bytes;
      --left;
      continue;
    }
    bytes += used;
    left -= used;
    if (cp == 0x2018 || cp == 0x2019) cp = '\'';
    else if (cp == 0x201C || cp == 0x201D) cp = '"';
    else if (cp == '\n' || cp == '\r' || cp == '\t' || cp == '\v' || cp == '\f') cp = ' ';
    else cp = utf8proc_tolower(cp);
    utf8proc_uint8_t encoded[4];
    utf8proc_ssize_t n = utf8proc_encode_char(cp, encoded);
    out.append(reinterpret_cast<const char*>(encoded), static_cast<size_t>(n));
  }
  return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_abbreviation(std::string_view word) {  // `word` without its final period
  static const std::array<std::string_view, 22> known = {"mr", "mrs", "ms", "dr", "st", "jr", "sr", "vs", "etc", "inc",
                                                         "co", "corp", "ltd", "no", "mt", "ft", "ave", "prof", "gen",
                                                         "rev", "sen", "rep"};
  if (word.empty()) return false;
  if (word.size() == 1 && word[0] >= 'a' && word[0] <= 'z') return true;  // initials: "j. smith"
  if (word.find('.') != std::string_view::npos)  // "u.s", "e.g"
    return std::all_of(word.begin(), word.end(), [](char c) { return c == '.' || (c >= 'a' && c <= 'z'); });
  return std::find(known.begin(), known.end(), word) != known.end();
}

// Splits one whitespace-free chunk into PTB-like tokens (punctuation kept as tokens here).
void split_chunk(std::string_view chunk, std::vector<std::string>& out) {
  static const std::string_view always_split = "\"()[]{};!?";
  std::vector<std::string> pieces;
  std::string current;
  auto flush = [&] {
    if (!current.empty()) pieces.push_back(std::move(current));
    current.clear();
  };
  for (size_t i = 0; i < chunk.size(); ++i) {
    const char c = chunk[i];
    const bool digit_before = i > 0 && is_digit(chunk[i - 1]);
    const bool digit_after = i + 1 < chunk.size() && is_digit(chunk[i + 1]);
    if (always_split.find(c) != std::string_view::npos || c == '`' ||
        ((c == ',' || c == ':') && !(digit_before && digit_after))) {
      flush();
      pieces.emplace_back(1, c);
    } else if (c == '-' && i + 1 < chunk.size() && chunk[i + 1] == '-') {
      flush();
      size_t end = chunk.find_first_not_of('-', i);
      pieces.emplace_back(chunk.substr(i, (end == std::string_view::npos ? chunk.size() : end) - i));
      i = (end == std::string_view::npos ? chunk.size() : end) - 1;
    } else if (c == '.' && chunk.substr(i, 3) == "...") {
      flush();
      size_t end = chunk.find_first_not_of('.', i);
      pieces.emplace_back(chunk.substr(i, (end == std::string_view::npos ? chunk.size() : end) - i));
      i = (end == std::string_view::npos ? chunk.size() : end) - 1;
    } else if ((c == '$' || c == '#') && current.empty() && i + 1 < chunk.size()) {
      pieces.emplace_back(1, c);
    } else if (c == '%' && !current.empty()) {
      flush();
      pieces.emplace_back(1, c);
    } else {
      current += c;
    }
  }
  flush();

  static const std::array<std::string_view, 7> clitics = {"n't", "'s", "'re", "'ve", "'ll", "'d", "'m"};
  for (std::string& piece : pieces) {
    // Quotes around a word: peel them, except a clitic standing alone ("'s").
    std::vector<std::string> trailing;
    while (piece.size() > 1 && piece.front() == '\'' &&
           std::find(clitics.begin(), clitics.end(), piece) == clitics.end()) {
      out.emplace_back("'");
      piece.erase(0, 1);
    }
    while (piece.size() > 1 && (piece.back() == '\'' || piece.back() == '.')) {
      if (piece.back() == '.') {
        std::string_view stem(piece.data(), piece.size() - 1);
        if (is_abbreviation(stem)) break;
      }
      trailing.emplace_back(1, piece.back());
      piece.pop_back();
    }
    bool split = false;
    for (std::string_view clitic : clitics) {
      if (piece.size() > clitic.size() && piece.compare(piece.size() - clitic.size(), clitic.size(), clitic) == 0) {
        out.push_back(piece.substr(0, piece.size() - clitic.size()));
        out.emplace_back(clitic);
        split = true;
        break;
      }
    }
    if (!split) {
      static const std::array<std::pair<std::string_view, std::string_view>, 6> fused = {
          {{"cannot", "can"}, {"gonna", "gon"}, {"gotta", "got"}, {"wanna", "wan"}, {"lemme", "lem"}, {"gimme", "gim"}}};
      auto it = std::find_if(fused.begin(), fused.end(), [&](const auto& f) { return f.first == piece; });
      if (it != fused.end()) {
        out.emplace_back(it->second);
        out.push_back(piece.substr(it->second.size()));
      } else if (!piece.empty()) {
        out.push_back(piece);
      }
    }
    out.insert(out.end(), trailing.rbegin(), trailing.rend());
  }
}

// pycocoevalcap's ptb_punctuation_removed, plus the raw characters that PTB
// would have turned into one of those tokens (quotes, brackets).
bool is_removed_punctuation(const std::string& token) {
  static const std::array<std::string_view, 24> removed = {"''", "'", "``", "`", "-lrb-", "-rrb-", "-lcb-", "-rcb-",
                                                           ".", "?", "!", ",", ":", "-", "--", "...", ";",
                                                           "\"", "(", ")", "[", "]", "{", "}"};
  if (std::find(removed.begin(), removed.end(), token) != removed.end()) return true;
  // PTB writes runs of dots or dashes as "..." and "--"
  return token.find_first_not_of('.') == std::string::npos || token.find_first_not_of('-') == std::string::npos;
}

}  // namespace

std::vector<std::string> ptb_tokens(std::string_view caption) {
  const std::string text = lower_and_normalise(caption);
  std::vector<std::string> tokens;
  size_t begin = 0;
  while (begin < text.size()) {
    begin = text.find_first_not_of(' ', begin);
    if (begin == std::string::npos) break;
    size_t end = text.find(' ', begin);
    if (end == std::string::npos) end = text.size();
    split_chunk(std::string_view(text).substr(begin, end - begin), tokens);
    begin = end;
  }
  tokens.erase(std::remove_if(tokens.begin(), tokens.end(), is_removed_punctuation), tokens.end());
  return tokens;
}

std::string ptb_tokenize(std::string_view caption) {
  std::string joined;
  for (const std::string& token : ptb_tokens(caption)) {
    if (!joined.empty()) joined += ' ';
    joined += token;
  }
  return joined;
}

}  // namespace capbench
