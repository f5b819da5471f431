"""ha.cf as a document: its physical lines, read the way heartbeat reads them, and edits.

The document keeps every physical line (comments, blank lines, order, spelling), so an
unchanged document renders to exactly the text it came from, while lines added or changed
through the API render in a tidy canonical form.

This module never judges values (that is `pyha.config.hacf_schema` and `hacf_eval`), never
looks at the host and never reads a file itself.
"""

from typing import Any, List, Optional

from pyha.config.common import DELIMS, WHITESPACE, TextLines, split_delims, split_ws
from pyha.config.hacf_schema import ALIASES, SPECS, canonical, suggest_directive


class Directive(object):
    """One directive line: `name` as written, `canonical` after aliases (udp -> bcast,
    crm -> pacemaker; None if unknown), `rest` the value text, `values` its tokens (split on
    blanks and commas for option directives, on blanks for whole-line ones)."""

    __slots__ = ("name", "rest", "lineno", "comment")

    def __init__(self, name, rest="", lineno=None, comment=None):
        # type: (str, str, Optional[int], Optional[str]) -> None
        self.name = name
        self.rest = rest
        self.lineno = lineno
        self.comment = comment

    @property
    def canonical(self):
        # type: () -> Optional[str]
        return canonical(self.name)

    @property
    def whole_line(self):
        # type: () -> bool
        spec = SPECS.get(self.canonical or "")
        return bool(spec and spec.whole_line)

    @property
    def values(self):
        # type: () -> List[str]
        return split_ws(self.rest) if self.whole_line else split_delims(self.rest)

    def render(self):
        # type: () -> str
        text = self.name + (" " + self.rest if self.rest else "")
        if self.comment:
            text += " " + self.comment
        return text

    def __repr__(self):
        return "Directive(%r, %r, line %r)" % (self.name, self.rest, self.lineno)


class _Item(object):
    """A physical line: `raw` text (None once changed through the API: render canonically)
    and its directive, if it has one."""

    __slots__ = ("raw", "directive")

    def __init__(self, raw, directive=None):
        # type: (Optional[str], Optional[Directive]) -> None
        self.raw = raw
        self.directive = directive


def parse_line(raw, lineno=None):
    # type: (str, Optional[int]) -> Optional[Directive]
    """One physical ha.cf line the way heartbeat reads it: leading blanks skipped,
    everything from `#` is a comment, the line ends at the first CR/LF, the directive is
    the first blank-delimited word and blanks/commas after it are skipped."""
    body = raw.lstrip(WHITESPACE)
    comment = None
    hash_at = body.find("#")
    if hash_at >= 0:
        comment = body[hash_at:]
        body = body[:hash_at]
    for ch in "\r\n":
        cut = body.find(ch)
        if cut >= 0:
            body = body[:cut]
    if not body.strip(WHITESPACE):
        return None
    end = len(body)
    for i, ch in enumerate(body):
        if ch in WHITESPACE:
            end = i
            break
    name = body[:end]
    rest = body[end:].lstrip(DELIMS).rstrip(WHITESPACE)
    return Directive(name, rest, lineno, comment.rstrip("\r") if comment else None)


def value_text(value):
    # type: (Any) -> str
    """A Python value as ha.cf text (bools as on/off, lists joined with blanks);
    ValueError if it cannot be written on one ha.cf line."""
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "on" if value else "off"
    elif isinstance(value, (list, tuple)):
        text = " ".join(value_text(v) for v in value)
    else:
        text = str(value)
    if "#" in text or "\n" in text or "\r" in text:
        raise ValueError("ha.cf values cannot contain '#' or line breaks: %r" % text)
    return text.strip(WHITESPACE)


class Document(object):
    """The lines of one ha.cf.  Build it with `parse(text)` or `new()` + `add()`;
    `render()` gives the text back.  Every edit calls `_changed()`, which subclasses
    use to forget what they derived from the old lines."""

    def __init__(self, filename="ha.cf"):
        # type: (str) -> None
        self.filename = filename
        self._items = []  # type: List[_Item]
        self._final_newline = True

    @classmethod
    def parse(cls, text, filename="ha.cf"):
        # type: (str, str) -> Any
        self = cls(filename)
        lines = TextLines(text)
        self._final_newline = lines.final_newline
        for n, raw in enumerate(lines.lines, 1):
            self._items.append(_Item(raw, parse_line(raw, n)))
        return self

    @classmethod
    def new(cls, comment=None, filename="ha.cf"):
        # type: (Any, str) -> Any
        """An empty ha.cf, optionally starting with comment line(s) (str or list of str)."""
        self = cls(filename)
        if comment:
            for text in ([comment] if isinstance(comment, str) else comment):
                self.add_comment(text)
        return self

    def render(self):
        # type: () -> str
        out = []
        for item in self._items:
            if item.raw is not None:
                out.append(item.raw)
            elif item.directive is not None:
                out.append(item.directive.render())
        return TextLines.join(out, self._final_newline)

    def add(self, directive, value=None, comment=None):
        # type: (str, Any, Optional[str]) -> Directive
        """Append `directive value` (value: str, int, or a list joined with blanks; times as
        `2` / `500ms`).  ValueError for an unknown directive or a value that cannot be
        written in ha.cf (contains `#` or a line break)."""
        self._refuse_unknown(directive)
        rest = value_text(value)
        d = Directive(directive, rest, None, ("# " + comment) if comment else None)
        self._items.append(_Item(None, d))
        self._changed()
        return d

    def _refuse_unknown(self, directive):
        # type: (str) -> None
        """ValueError for a directive this file does not know (a document with another
        table, such as pyha.cf, overrides this)."""
        if directive not in SPECS and directive not in ALIASES:
            hint = suggest_directive(directive)
            raise ValueError("unknown ha.cf directive %r%s" % (directive, " (did you mean %r?)" % hint if hint else ""))

    def set(self, directive, value, comment=None):
        # type: (str, Any, Optional[str]) -> Directive
        """Make `directive` appear once with `value`: the first occurrence is rewritten in
        place (keeping its comment unless a new one is given), later ones are removed; if
        there is none it is appended."""
        found = [i for i in self._items if i.directive is not None and i.directive.name == directive]
        if not found:
            return self.add(directive, value, comment)
        first = found[0]
        first.directive.rest = value_text(value)
        if comment is not None:
            first.directive.comment = "# " + comment
        first.raw = None
        for item in found[1:]:
            self._items.remove(item)
        self._changed()
        return first.directive

    def remove(self, directive):
        # type: (str) -> int
        """Remove every line of `directive` (as written); returns how many."""
        before = len(self._items)
        self._items = [i for i in self._items if i.directive is None or i.directive.name != directive]
        self._changed()
        return before - len(self._items)

    def add_comment(self, text=""):
        # type: (str) -> None
        if "\n" in text or "\r" in text:
            raise ValueError("a comment is one line")
        self._items.append(_Item(("# " + text) if text else "#"))
        self._changed()

    def add_blank(self):
        # type: () -> None
        self._items.append(_Item(""))
        self._changed()

    def _changed(self):
        # type: () -> None
        pass

    def directives(self, name=None):
        # type: (Optional[str]) -> List[Directive]
        """Directive lines in file order; with `name`, those whose canonical name (or
        spelling, for unknown ones) is `name`."""
        out = [i.directive for i in self._items if i.directive is not None]
        if name is not None:
            out = [d for d in out if (d.canonical or d.name) == name]
        return out
