"""HTML post bodies (Mastodon `content`, Weibo `text`) to plain text, keeping links, mentions and hashtags as text.

- `<br>` is a line break, `<p>` a paragraph break; entities are decoded.
- Emoticons (`<img alt="[doge]">`) become their alt text.
- A link keeps its text when that text is a mention, a hashtag or a URL (Mastodon's hidden `<span class="invisible">`
  URL parts are kept, which rebuilds the full URL). A link labelled with words ("网页链接") becomes its target URL,
  unwrapped from Weibo's `sinaurl?u=` redirect.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

_URLISH = re.compile(r"^(https?://|www\.)|^[\w-]+(\.[\w-]+)+(/|$)", re.I)
_SPACES = re.compile(r"[ \t]*\n[ \t]*")


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.links: list[tuple[str, int]] = []  # (href, index in out where the link's text starts)

    def handle_starttag(self, tag, attrs):
        if tag == "br":
            self.out.append("\n")
        elif tag == "p":
            if self.out:
                self.out.append("\n\n")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.out.append(alt)
        elif tag == "a":
            self.links.append((dict(attrs).get("href") or "", len(self.out)))

    def handle_endtag(self, tag):
        if tag == "a" and self.links:
            href, start = self.links.pop()
            label = "".join(self.out[start:]).strip()
            if href.startswith(("http://", "https://")) and label and not label.startswith(("@", "#")) \
                    and not _URLISH.match(label):
                self.out[start:] = [_unwrap(href)]

    def handle_data(self, data):
        self.out.append(data)


def _unwrap(href: str) -> str:
    parts = urlsplit(href)
    if parts.path.endswith("sinaurl"):
        target = parse_qs(parts.query).get("u")
        if target:
            return target[0]
    return href


def html_to_text(html: str | None) -> str:
    if not html:
        return ""
    if "<" not in html:
        return unescape(html) if "&" in html else html
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    text = "".join(parser.out)
    return _SPACES.sub("\n", text).strip()
