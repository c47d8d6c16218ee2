"""Hand-built CJK PDFs whose ToUnicode map the caller controls.

reportlab's CID fonts carry no ToUnicode map at all, so a PDF with a broken one
(the usual reason a Chinese PDF extracts as junk) has to be written by hand: a
Type0 font over Adobe-GB1 (STSong-Light, not embedded), text drawn as 2-byte CIDs,
and a ToUnicode CMap from CIDs to whatever `to_unicode` returns per character.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF with objects 1..n (object 1 the catalog) and a correct xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def _utf16_hex(text: str) -> bytes:
    return text.encode("utf-16-be").hex().upper().encode()


def _cmap(mapping: dict[int, str]) -> bytes:
    lines = [
        b"/CIDInit /ProcSet findresource begin",
        b"12 dict begin",
        b"begincmap",
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        b"/CMapName /Adobe-Identity-UCS def",
        b"/CMapType 2 def",
        b"1 begincodespacerange",
        b"<0000> <FFFF>",
        b"endcodespacerange",
    ]
    items = sorted(mapping.items())
    for k in range(0, len(items), 100):  # at most 100 entries per block
        block = items[k : k + 100]
        lines.append(b"%d beginbfchar" % len(block))
        lines += [b"<%04X> <%s>" % (cid, _utf16_hex(target)) for cid, target in block]
        lines.append(b"endbfchar")
    lines += [b"endcmap", b"CMapName currentdict /CMap defineresource pop", b"end", b"end"]
    return b"\n".join(lines)


def cjk_pdf(pages: Sequence[str], to_unicode: Callable[[str], str] | None = lambda ch: ch) -> bytes:
    """One page per string, each line drawn as CIDs (one per distinct character).
    `to_unicode` gives each character's ToUnicode entry: the identity makes a good
    PDF; anything else a broken map; None leaves the map out."""
    chars = sorted({ch for page in pages for ch in page if ch != "\n"})
    cid = {ch: i + 1 for i, ch in enumerate(chars)}
    n_pages = len(pages)
    # objects: 1 catalog, 2 pages, 3 font, 4 CID font, 5 descriptor, 6 ToUnicode,
    # then page and content per page
    first_page = 7
    kids = b" ".join(b"%d 0 R" % (first_page + 2 * i) for i in range(n_pages))
    font = b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /Identity-H /DescendantFonts [4 0 R]"
    font += b" /ToUnicode 6 0 R >>" if to_unicode is not None else b" >>"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, n_pages),
        font,
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light"
        b" /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> /FontDescriptor 5 0 R /DW 1000 >>",
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880]"
        b" /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>",
        _stream(_cmap({cid[ch]: to_unicode(ch) for ch in chars}) if to_unicode is not None else b""),
    ]
    for i, page in enumerate(pages):
        ops = [b"BT /F1 12 Tf 14 TL 72 760 Td"]
        for line in page.split("\n"):
            ops.append(b"<%s> Tj T*" % b"".join(b"%04X" % cid[ch] for ch in line))
        ops.append(b"ET")
        content = b"\n".join(ops)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >>"
            b" /Contents %d 0 R >>" % (first_page + 2 * i + 1)
        )
        objects.append(_stream(content))
    return _pdf(objects)


def raw_pdf(objects: list[bytes]) -> bytes:
    """A PDF from raw object bodies (object 1 must be the catalog), for structural damage."""
    return _pdf(objects)
