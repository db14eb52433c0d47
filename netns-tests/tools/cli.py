"""The one way the test tools take a subcommand: `tool.py NAME ARGS...` calls the function the
tool lists under NAME with ARGS (strings). A check returns True or False (exit 0 or 1) and
prints what it saw; a converter prints its output and returns None (exit 0)."""
import sys


def main(commands, doc):
    argv = sys.argv[1:]
    if not argv or argv[0] not in commands:
        print(doc.strip().split("\n\n")[0], file=sys.stderr)
        print("commands: " + ", ".join(commands), file=sys.stderr)
        sys.exit(2)
    result = commands[argv[0]](*argv[1:])
    sys.exit(0 if result is None or result is True else 1)
