#!/usr/bin/env python3
"""Turns docs/tutorial.md into the scripts deb_test.sh runs: its commands, exactly.

    tutorial_script.py TUTORIAL.md EXAMPLE_DIR OUT_DIR

Fenced blocks tagged `file=NAME` are files the reader writes: each must equal
EXAMPLE_DIR/NAME (the tutorial shows examples/out_of_tree), and the user script
writes it where the reader would, in order. Blocks tagged `sh` are commands: those
that begin with `sudo ` go, without it, into OUT_DIR/root.sh (run as root, with
the network); the others into OUT_DIR/user.sh, each block preceded by a line
"TUTORIAL-STEP <seconds since the epoch> <its first command>" on stderr. Exits 1
naming the file whose text differs, 2 on usage.
"""
import pathlib
import re
import sys


def blocks(text):
    """(info string, body) of every fenced block."""
    for match in re.finditer(r"^```([^\n]*)\n(.*?)^```$", text, re.S | re.M):
        yield match.group(1).strip(), match.group(2)


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    tutorial, example, out = (pathlib.Path(a) for a in argv[1:])
    root = ["set -euo pipefail"]
    user = ["set -euo pipefail", "set -x"]
    for info, body in blocks(tutorial.read_text()):
        words = info.split()
        name = next((w[5:] for w in words if w.startswith("file=")), None)
        if name is not None:
            expected = (example / name).read_text()
            if body != expected:
                print(f"{tutorial}: the block of {name} differs from {example / name}",
                      file=sys.stderr)
                return 1
            user.append(f"cat > {name} <<'AIA_TUTORIAL_EOF'\n{body}AIA_TUTORIAL_EOF")
        elif words and words[0] == "sh":
            if body.startswith("sudo "):
                root.append(body[len("sudo "):])
            else:
                first = body.splitlines()[0].replace("'", "")
                user.append(f"{{ set +x; }} 2>/dev/null; echo \"TUTORIAL-STEP $(date +%s.%N) "
                            f"{first}\" >&2; set -x")
                user.append(body)
    (out / "root.sh").write_text("\n".join(root) + "\n")
    (out / "user.sh").write_text("\n".join(user) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
