#include "app/report/html.h"

#include <doctest/doctest.h>

using capbench::report::html_escape;

TEST_CASE("html_escape turns & < > \" ' into entities") {
  CHECK(html_escape("<a href=\"x\">Tom & 'Jerry'</a>") ==
        "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;");
  CHECK(html_escape("</script><script>alert(1)</script>") == "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;");
  CHECK(html_escape("&amp;") == "&amp;amp;");  // text, not markup: an entity in the input is shown as typed
}

TEST_CASE("html_escape keeps every other byte: plain text, UTF-8, control characters") {
  CHECK(html_escape("") == "");
  CHECK(html_escape("a photo of a cat, 3 = 3; 50% [ok]") == "a photo of a cat, 3 = 3; 50% [ok]");
  const std::string unicode = "caf\u00e9 \u2014 \u6771\u4eac \U0001F680";
  CHECK(html_escape(unicode) == unicode);
  CHECK(html_escape(std::string("a\0b\n\t", 5)) == std::string("a\0b\n\t", 5));
}
