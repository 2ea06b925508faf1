#pragma once
// Text into HTML: the one escaping function of the report, for element content
// and attribute values alike (inline SVG included, which the HTML parser reads
// the same way).
#include <string>
#include <string_view>

namespace capbench::report {

// & < > " ' become &amp; &lt; &gt; &quot; &#39;; every other byte (UTF-8
// included) is kept. The result is safe as element text and inside a single-
// or double-quoted attribute value; it is not for URLs, scripts or styles.
std::string html_escape(std::string_view text);

}  // namespace capbench::report
