"""``python -m tooltape ARGS...``: run the tooltape binary this package ships."""

import os
import subprocess
import sys

from tooltape import find_tooltape_bin


def main() -> int:
    exe = os.fsdecode(find_tooltape_bin())
    if sys.platform == "win32":
        return subprocess.run([exe, *sys.argv[1:]]).returncode
    os.execv(exe, [exe, *sys.argv[1:]])
    return 127  # unreachable: execv replaced this process


if __name__ == "__main__":
    sys.exit(main())
