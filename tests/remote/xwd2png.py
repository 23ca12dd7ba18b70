#!/usr/bin/python3
"""xwd2png IN.xwd OUT.png: a screenshot taken with `xwd -root` (ZPixmap, TrueColor, 24/32 bits
per pixel) as a PNG, with nothing but the standard library (no ImageMagick needed in CI).
Prints how many distinct colours the picture has (a blank screen has one)."""

import struct
import sys
import zlib


def mask_shift(mask):
    shift = 0
    while mask and not mask & 1:
        mask >>= 1
        shift += 1
    return shift, mask


def convert(data):
    fields = struct.unpack(">25I", data[:100])
    (header_size, version, pixmap_format, depth, width, height, _xoff, byte_order, _unit,
     _bit_order, _pad, bpp, bytes_per_line, _vclass, rmask, gmask, bmask, _bits_rgb,
     _cmap_entries, ncolors) = fields[:20]
    if version != 7 or pixmap_format != 2 or bpp not in (24, 32):
        raise SystemExit(f"unsupported xwd: version {version}, format {pixmap_format}, {bpp} bpp")
    offset = header_size + ncolors * 12
    step = bpp // 8
    order = "little" if byte_order == 0 else "big"
    shifts = [mask_shift(m) for m in (rmask, gmask, bmask)]
    rows = []
    for y in range(height):
        line = data[offset + y * bytes_per_line: offset + y * bytes_per_line + width * step]
        out = bytearray(b"\0")  # filter type: none
        for x in range(0, width * step, step):
            pixel = int.from_bytes(line[x:x + step], order)
            for shift, mask in shifts:
                v = (pixel >> shift) & mask
                out.append(v * 255 // mask if mask else 0)
        rows.append(bytes(out))
    return width, height, b"".join(rows)


def png(width, height, raw):
    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body +
                struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def main():
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    w, h, raw = convert(data)
    with open(sys.argv[2], "wb") as f:
        f.write(png(w, h, raw))
    stride = 1 + w * 3
    colours = set()
    for y in range(h):
        row = raw[y * stride + 1:(y + 1) * stride]
        colours.update(row[i:i + 3] for i in range(0, len(row), 3))
    print(len(colours))


if __name__ == "__main__":
    main()
