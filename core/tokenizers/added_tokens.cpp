#include "core/tokenizers/added_tokens.h"

#include <algorithm>

#include "core/tokenizers/unicode_text.h"

namespace capbench {

int AddedTokenTrie::Node::child(unsigned char byte) const {
  auto it = std::lower_bound(children.begin(), children.end(), std::make_pair(byte, 0),
                             [](const auto& a, const auto& b) { return a.first < b.first; });
  return it != children.end() && it->first == byte ? it->second : -1;
}

void AddedTokenTrie::add(std::string_view word) {
  if (word.empty()) return;
  int node = 0;
  for (char c : word) {
    const auto byte = static_cast<unsigned char>(c);
    int next = nodes_[node].child(byte);
    if (next < 0) {
      next = static_cast<int>(nodes_.size());
      nodes_.emplace_back();
      auto& children = nodes_[node].children;
      children.insert(std::lower_bound(children.begin(), children.end(), std::make_pair(byte, 0),
                                       [](const auto& a, const auto& b) { return a.first < b.first; }),
                      {byte, next});
    }
    node = next;
  }
  nodes_[node].end = true;
}

// A port of transformers' Trie.split: partial matches are tracked from every
// start; the first one found complete wins, extended to its longest match,
// unless an earlier-starting partial match completes during the look-ahead.
std::vector<std::string_view> AddedTokenTrie::split(std::string_view text) const {
  const size_t n = text.size();
  const auto at = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  std::vector<std::pair<size_t, int>> states;  // (start, node), by increasing start
  std::vector<size_t> offsets{0};
  size_t skip = 0;
  for (size_t current = 0; current < n; ++current) {
    if (skip && current < skip) continue;
    const unsigned char current_byte = at(current);
    bool reset = false;
    std::vector<size_t> to_remove;
    for (auto& [state_start, state_node] : states) {
      if (nodes_[state_node].end) {
        size_t start = state_start, end = 0;
        for (auto [lookstart, looknode] : states) {
          if (lookstart > start) break;
          size_t lookahead = lookstart < start ? current + 1 : current;
          end = lookahead;
          if (nodes_[looknode].end) {
            start = lookstart;
            end = lookahead;
            skip = lookahead;
          }
          while (lookahead < n) {
            const int next = nodes_[looknode].child(at(lookahead));
            if (next < 0) break;
            looknode = next;
            ++lookahead;
            if (nodes_[looknode].end) {
              start = lookstart;
              end = lookahead;
              skip = lookahead;
            }
          }
        }
        offsets.push_back(start);
        offsets.push_back(end);
        reset = true;
        break;
      }
      const int next = nodes_[state_node].child(current_byte);
      if (next >= 0)
        state_node = next;
      else
        to_remove.push_back(state_start);
    }
    if (reset) {
      states.clear();
    } else if (!to_remove.empty()) {
      states.erase(std::remove_if(states.begin(), states.end(),
                                  [&](const auto& s) {
                                    return std::find(to_remove.begin(), to_remove.end(), s.first) != to_remove.end();
                                  }),
                   states.end());
    }
    if (current >= skip) {
      const int first = nodes_[0].child(current_byte);
      if (first >= 0) states.emplace_back(current, first);
    }
  }
  for (const auto& [start, node] : states) {
    if (nodes_[node].end) {
      offsets.push_back(start);
      offsets.push_back(n);
      break;
    }
  }
  offsets.push_back(n);
  std::vector<std::string_view> pieces;
  size_t start = 0;
  for (size_t end : offsets) {
    if (start >= end) continue;
    pieces.push_back(text.substr(start, end - start));
    start = end;
  }
  return pieces;
}

void AddedTokenSplitter::add(int64_t id, const AddedToken& token) {
  auto it = std::lower_bound(tokens_.begin(), tokens_.end(), token.content,
                             [](const auto& entry, const std::string& key) { return entry.first < key; });
  if (it != tokens_.end() && it->first == token.content) {
    it->second = {id, token};
  } else {
    tokens_.insert(it, {token.content, {id, token}});
  }
  trie_.add(token.content);
}

const std::pair<int64_t, AddedToken>* AddedTokenSplitter::find(std::string_view content) const {
  auto it = std::lower_bound(tokens_.begin(), tokens_.end(), content,
                             [](const auto& entry, std::string_view key) { return entry.first < key; });
  return it != tokens_.end() && it->first == content ? &it->second : nullptr;
}

std::vector<TextPiece> AddedTokenSplitter::split(std::string_view text) const {
  std::vector<TextPiece> pieces;
  if (trie_.empty()) {
    if (!text.empty()) pieces.push_back({std::string(text), -1});
    return pieces;
  }
  for (std::string_view piece : trie_.split(text)) {
    const auto* found = find(piece);
    pieces.push_back({std::string(piece), found ? found->first : -1});
  }
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (pieces[i].added_id < 0) continue;
    const AddedToken& token = find(pieces[i].text)->second;
    TextPiece* left = i > 0 ? &pieces[i - 1] : nullptr;
    TextPiece* right = i + 1 < pieces.size() ? &pieces[i + 1] : nullptr;
    if (token.rstrip && right && !right->text.empty()) right->text = std::string(unicode::lstrip(right->text));
    if (token.lstrip && left && !left->text.empty()) left->text = std::string(unicode::rstrip(left->text));
    if (token.single_word && left && !left->text.empty() && left->text.back() != ' ') {
      left->text += pieces[i].text;
      left->added_id = -1;
      pieces[i].text.clear();
    } else if (token.single_word && right && !right->text.empty() && right->text.front() != ' ') {
      pieces[i].text += right->text;
      pieces[i].added_id = -1;
      right->text.clear();
    }
  }
  pieces.erase(std::remove_if(pieces.begin(), pieces.end(), [](const TextPiece& p) { return p.text.empty(); }),
               pieces.end());
  return pieces;
}

}  // namespace capbench
