# SPDX-License-Identifier: GPL-2.0-or-later
"""Write a tokenizer-free token file from text Debian ships: one token per byte (0-255), as
little-endian uint16 back to back, nanoGPT's train.bin layout (zenith-data(7) format=tokens,
dtype=u16). The text is every file under /usr/share/common-licenses, then, with --man, man
pages from /usr/share/man/man1 (gunzipped), in sorted order up to --max-bytes: the same
machine gives the same file.

    /usr/bin/python3 make_tokens.py train.bin --max-bytes 200000
"""
import argparse
import gzip
import os
import sys

LICENSES = "/usr/share/common-licenses"
MAN1 = "/usr/share/man/man1"


def die(msg):
    print(f"zenith: {msg}", file=sys.stderr)
    sys.exit(1)


def text_files(directory, suffix=None):
    """The regular files under directory, sorted, each real file once (symlinks such as
    GPL -> GPL-3 would repeat text)."""
    seen, files = set(), []
    if not os.path.isdir(directory):
        return files
    for root, dirs, names in os.walk(directory):
        dirs.sort()
        for name in sorted(names):
            if suffix and not name.endswith(suffix):
                continue
            path = os.path.join(root, name)
            real = os.path.realpath(path)
            if real in seen or not os.path.isfile(real):
                continue
            seen.add(real)
            files.append(path)
    return sorted(files)


def read(path):
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        with open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError):
        return b""  # an unreadable or broken file is left out, not fatal


def main():
    ap = argparse.ArgumentParser(description="byte-level uint16 token file from Debian's text")
    ap.add_argument("output", help="the token file to write")
    ap.add_argument("--max-bytes", type=int, default=1 << 20,
                    help="at most this many bytes of text, so tokens (default 1 MiB)")
    ap.add_argument("--man", action="store_true",
                    help="add man pages from /usr/share/man/man1 after the licenses")
    ap.add_argument("--input", action="append", metavar="DIR",
                    help="read this directory instead of the defaults (repeatable)")
    args = ap.parse_args()
    if args.max_bytes <= 1:
        die(f"--max-bytes={args.max_bytes}: need at least 2 bytes (one window of input and "
            "target)")

    dirs = args.input or [LICENSES]
    files = [f for d in dirs for f in text_files(d)]
    if args.man and not args.input:
        files += text_files(MAN1, ".gz")
    text, used = bytearray(), 0
    for path in files:
        if len(text) >= args.max_bytes:
            break
        data = read(path)
        if data:
            text += data
            used += 1
    del text[args.max_bytes:]
    if len(text) < 2:
        die(f"no input text: nothing readable under {', '.join(dirs)}"
            f"{' or ' + MAN1 if args.man else ''}; install Debian's base-files or pass --input DIR")

    # uint16 little-endian: each byte b becomes b, 0.
    out = bytearray(2 * len(text))
    out[0::2] = text
    tmp = f"{args.output}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(out)
        os.replace(tmp, args.output)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        die(f"cannot write the token file {args.output}: {e.strerror}")
    print(f"zenith: wrote {args.output}: {len(text)} tokens from {used} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
