"""Reading knowledge-base files into documents. Each file either loads whole or fails with a BadInput naming it.

Formats (chosen by extension; a folder is walked recursively, hidden files and unknown extensions skipped):

* ``.md`` / ``.markdown`` / ``.txt`` — one document. Optional front matter between ``---`` lines::

      ---
      key: returns          # shared by the translations of one document (default: file stem without .en/.zh)
      lang: en              # default: a ``name.<lang>.md`` suffix, else detected from the text
      title: Returns        # default: the first ``# heading``, else the file stem
      sensitive: true       # policy topic: the assistant hands the conversation to a person
      ---

* ``.html`` / ``.htm`` — one document; headings become ``#`` lines, paragraphs and list items blocks.
* ``.csv`` with columns ``question,answer`` — an FAQ: one document per row. Optional columns ``key`` (translations
  share it), ``lang``, ``title``, ``sensitive`` (true/false/yes/no/1/0).
* ``.csv`` with columns ``intent,text`` (``example`` also accepted) and optional ``lang``, ``answer``, ``sensitive``
  — intent examples, one per row; the first non-empty ``answer`` of an (intent, lang) is its answer template.
* ``.jsonl`` — intents, one per line::

      {"intent": "return_item", "examples": {"en": ["I want to return my phone", ...], "zh": ["我想退货", ...]},
       "answer": {"en": "You can return ...", "zh": "您可以……"}, "sensitive": false, "handoff": false}

  ``handoff: true`` marks intents that always go to a person (e.g. ``talk_to_human``).
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

from townsquare.errors import BadInput

DOC_EXTS = {".md", ".markdown", ".txt", ".html", ".htm"}
KB_EXTS = DOC_EXTS | {".csv", ".jsonl"}
INTENT_LANG = "*"  # intents hold every language in one document
_LANG_SUFFIX = re.compile(r"^(?P<stem>.+)\.(?P<lang>[a-z]{2}(?:-[a-z]{2,4})?)$", re.I)
_TRUE = {"true", "yes", "1", "y", "on"}
_FALSE = {"false", "no", "0", "n", "off", ""}
MAX_FILE_BYTES = 5_000_000


@dataclass
class LoadedDoc:
    doc_key: str
    lang: str
    kind: str  # doc | faq | intent
    title: str
    source: str
    path: str
    text: str
    sensitive: bool = False
    meta: dict = field(default_factory=dict)


def _bool(value: object, where: str) -> bool:
    if isinstance(value, bool):
        return value
    s = str(value if value is not None else "").strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise BadInput(where, f"{value!r} is not true or false", "write true or false")


def _lang_of(text: str) -> str:
    from townsquare.text.langid import detect_language

    lang = detect_language(text[:2000])
    return lang if lang in ("en", "zh") else "other"


def _split_stem(path: Path) -> tuple[str, str | None]:
    """``returns.zh.md`` -> ("returns", "zh"); ``returns.md`` -> ("returns", None)."""
    m = _LANG_SUFFIX.match(path.stem)
    return (m["stem"], m["lang"].lower()) if m else (path.stem, None)


def _front_matter(text: str, name: str) -> tuple[dict[str, str], str]:
    if not text.startswith("---"):
        return {}, text
    lines = text.splitlines()
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise BadInput(f"{name} front matter", "has no closing '---' line", "end the front matter with ---") from None
    meta: dict[str, str] = {}
    for n, line in enumerate(lines[1:end], 2):
        line = line.split(" #", 1)[0].strip()
        if not line:
            continue
        if ":" not in line:
            raise BadInput(f"{name} line {n}", f"front matter line {line!r} is not 'name: value'",
                           "write e.g. key: returns")
        k, v = line.split(":", 1)
        meta[k.strip().lower()] = v.strip().strip("'\"")
    return meta, "\n".join(lines[end + 1 :])


class _HtmlToText(HTMLParser):
    """HTML to Markdown-ish text: headings become '#' lines; blocks are separated by blank lines."""

    _BLOCKS = {"p", "div", "li", "tr", "section", "article", "blockquote", "pre", "table", "ul", "ol", "dd", "dt"}
    _SKIP = {"script", "style", "head", "nav", "footer", "noscript", "template"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        if tag in self._SKIP:
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif re.fullmatch(r"h[1-6]", tag):
            self.out.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag in self._BLOCKS:
            self.out.append("\n\n")
        elif tag == "br":
            self.out.append("\n")

    def handle_endtag(self, tag):
        if tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag == "title":
            self._in_title = False
        elif re.fullmatch(r"h[1-6]", tag) or tag in self._BLOCKS:
            self.out.append("\n\n")

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        elif not self._skip:
            self.out.append(re.sub(r"[ \t\r\n]+", " ", data))

    def handle_comment(self, data):
        # Comments are invisible to a reader but not to a model: keep them so injection checks see them.
        if data.strip():
            self.out.append(f"\n\n{data.strip()}\n\n")


def html_to_text(html: str) -> tuple[str, str]:
    """(title, text) of an HTML page."""
    parser = _HtmlToText()
    parser.feed(html)
    parser.close()
    text = re.sub(r"[ \t]*\n[ \t]*", "\n", "".join(parser.out))
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return unescape(parser.title).strip(), text


def _read(path: Path) -> str:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise BadInput(path.name, f"is {path.stat().st_size:,} bytes, over {MAX_FILE_BYTES:,}",
                       "split it into smaller documents")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInput(path.name, f"is not UTF-8 (byte {exc.start})", "save the file as UTF-8") from None
    if not text.strip():
        raise BadInput(path.name, "is empty", "write some content or leave the file out")
    return text


def _load_document(path: Path, source: str) -> list[LoadedDoc]:
    raw = _read(path)
    stem, suffix_lang = _split_stem(path)
    html_title = ""
    if path.suffix.lower() in (".html", ".htm"):
        html_title, body = html_to_text(raw)
        meta: dict[str, str] = {}
    else:
        meta, body = _front_matter(raw, path.name)
    body = body.strip()
    if not body:
        raise BadInput(path.name, "has front matter but no content", "write the document below the front matter")
    heading = next((ln.lstrip("#").strip() for ln in body.splitlines() if re.match(r"#{1,6}\s", ln)), "")
    title = meta.get("title") or html_title or heading or stem.replace("_", " ").replace("-", " ")
    lang = (meta.get("lang") or suffix_lang or _lang_of(body)).lower()
    key = meta.get("key") or stem
    sensitive = _bool(meta.get("sensitive", "false"), f"{path.name} sensitive")
    return [LoadedDoc(key, lang, "doc", title, source, str(path), body, sensitive)]


def _csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(_read(path).splitlines())
    header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    rows = [{(k or "").strip().lower(): (v or "").strip() if isinstance(v, str) else "" for k, v in r.items()}
            for r in reader]
    return header, rows


def _load_faq(path: Path, source: str, rows: list[dict[str, str]],
              problems: list[tuple[str, str]] | None) -> list[LoadedDoc]:
    stem = _split_stem(path)[0]
    docs = []
    for n, row in enumerate(rows, 2):
        try:
            q, a = row.get("question", ""), row.get("answer", "")
            if not q:
                raise BadInput(f"{path.name} line {n} question", "is empty", "give every FAQ row a question")
            if not a:
                raise BadInput(f"{path.name} line {n} answer", "is empty", "give every FAQ row an answer")
            lang = (row.get("lang") or _lang_of(q + "\n" + a)).lower()
            key = row.get("key") or f"{stem}:{n - 1}"
            sensitive = _bool(row.get("sensitive", ""), f"{path.name} line {n} sensitive")
        except BadInput as exc:
            if problems is None:
                raise
            problems.append((f"{source} line {n}", str(exc)))  # one bad row costs that row, not the whole FAQ
            continue
        docs.append(LoadedDoc(key, lang, "faq", row.get("title") or q, f"{source} line {n}", str(path),
                              f"{q}\n\n{a}", sensitive, {"question": q, "answer": a}))
    if not docs:
        raise BadInput(path.name, "has no usable FAQ row", "give every row a question and an answer")
    return docs


def _intent_doc(name: str, examples: dict[str, list[str]], answers: dict[str, str], sensitive: bool,
                handoff: bool, source: str, path: Path) -> LoadedDoc:
    meta = {"examples": examples, "answers": answers, "handoff": handoff}
    return LoadedDoc(f"intent:{name}", INTENT_LANG, "intent", name, source, str(path), "", sensitive, meta)


def _load_intent_csv(path: Path, source: str, rows: list[dict[str, str]], text_col: str) -> list[LoadedDoc]:
    intents: dict[str, dict] = {}
    for n, row in enumerate(rows, 2):
        name, text = row.get("intent", ""), row.get(text_col, "")
        if not name:
            raise BadInput(f"{path.name} line {n} intent", "is empty", "name the intent of every row")
        lang = (row.get("lang") or _lang_of(text or row.get("answer", ""))).lower()
        it = intents.setdefault(name, {"examples": {}, "answers": {}, "sensitive": False})
        if text:
            it["examples"].setdefault(lang, []).append(text)
        if row.get("answer") and lang not in it["answers"]:
            it["answers"][lang] = row["answer"]
        if row.get("sensitive"):
            it["sensitive"] |= _bool(row["sensitive"], f"{path.name} line {n} sensitive")
    return [_intent_doc(k, v["examples"], v["answers"], v["sensitive"], False, source, path)
            for k, v in intents.items()]


def _str_list(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(x, str) and x.strip() for x in value):
        raise BadInput(where, "is not a list of non-empty strings", 'write e.g. ["I want to return my phone"]')
    return [x.strip() for x in value]


def _load_intent_jsonl(path: Path, source: str) -> list[LoadedDoc]:
    docs, seen = [], set()
    for n, line in enumerate(_read(path).splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path.name} line {n}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadInput(where, f"is not valid JSON ({exc.msg})", "write one JSON object per line") from None
        if not isinstance(obj, dict):
            raise BadInput(where, "is not a JSON object", 'write {"intent": ..., "examples": {...}, "answer": {...}}')
        name = obj.get("intent")
        if not isinstance(name, str) or not name.strip():
            raise BadInput(f"{where} intent", "is missing or empty", "name the intent, e.g. return_item")
        if name in seen:
            raise BadInput(f"{where} intent", f"{name!r} appears twice", "merge its examples into one line")
        seen.add(name)
        ex, ans = obj.get("examples", {}), obj.get("answer", obj.get("answers", {}))
        if isinstance(ex, list):  # a flat list in one language: {"lang": "en", "examples": [...]}
            ex = {str(obj.get("lang") or _lang_of(" ".join(map(str, ex)))): ex}
        if not isinstance(ex, dict) or not ex:
            raise BadInput(f"{where} examples", "is missing or not an object of lists by language",
                           'write {"en": ["..."], "zh": ["..."]}')
        examples = {str(k).lower(): _str_list(v, f"{where} examples.{k}") for k, v in ex.items()}
        if isinstance(ans, str):
            ans = {str(obj.get("lang") or next(iter(examples))): ans}
        if not isinstance(ans, dict) or not all(isinstance(v, str) for v in ans.values()):
            raise BadInput(f"{where} answer", "is not an object of strings by language",
                           'write {"en": "...", "zh": "..."}')
        docs.append(_intent_doc(name.strip(), examples, {str(k).lower(): v for k, v in ans.items() if v.strip()},
                                _bool(obj.get("sensitive", False), f"{where} sensitive"),
                                _bool(obj.get("handoff", False), f"{where} handoff"), source, path))
    if not docs:
        raise BadInput(path.name, "holds no intents", "write one JSON object per intent")
    return docs


def load_file(path: Path, source: str | None = None,
              problems: list[tuple[str, str]] | None = None) -> list[LoadedDoc]:
    """The documents in one file; raises BadInput naming the file (and line/field) when it cannot be used. With
    ``problems``, an FAQ row that cannot be used is appended there as (where, reason) and the other rows load."""
    source = source or path.name
    ext = path.suffix.lower()
    if ext in DOC_EXTS:
        return _load_document(path, source)
    if ext == ".jsonl":
        return _load_intent_jsonl(path, source)
    if ext == ".csv":
        header, rows = _csv(path)
        if not rows:
            raise BadInput(path.name, "has a header but no rows", "add at least one row")
        if "question" in header and "answer" in header:
            return _load_faq(path, source, rows, problems)
        text_col = "text" if "text" in header else "example" if "example" in header else None
        if "intent" in header and text_col:
            return _load_intent_csv(path, source, rows, text_col)
        raise BadInput(f"{path.name} header", f"has columns {', '.join(header) or '(none)'}",
                       "use question,answer for an FAQ or intent,text[,lang,answer] for intents")
    raise BadInput(path.name, f"unknown file type {ext or '(none)'!r}",
                   f"use one of {', '.join(sorted(KB_EXTS))}")


def kb_files(path: Path) -> list[tuple[Path, str]]:
    """(file, source name) for a file or every knowledge-base file under a folder, in a stable order."""
    if not path.exists():
        raise BadInput("path", f"{path} does not exist", "give a knowledge-base file or folder")
    if path.is_file():
        return [(path, path.name)]
    files = []
    for f in sorted(path.rglob("*")):
        rel = f.relative_to(path)
        if f.is_file() and f.suffix.lower() in KB_EXTS and not any(p.startswith(".") for p in rel.parts):
            files.append((f, f"{path.name}/{rel.as_posix()}"))
    return files
