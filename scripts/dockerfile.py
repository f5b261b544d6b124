#!/usr/bin/env python3
"""Reads what an example's Dockerfile makes its image run, for scripts/e2e.sh.

    scripts/dockerfile.py examples/NAME/Dockerfile

prints bash assignments describing the final stage:

    IMG_ENV=(K=V ...)        ENV, in order
    IMG_WORKDIR=/path        WORKDIR (the last one)
    IMG_COPY=(SRC DEST ...)  COPY from the build context (the repository root);
                             DEST absolute (relative ones resolved against WORKDIR)
    IMG_RUN=(CMD ...)        RUN lines, as written
    IMG_ADAPTER=/path        where COPY --from=... puts lambda-adapter
    IMG_MODE=sidecar|wrapper sidecar: the adapter is in /opt/extensions;
                             wrapper: the adapter is ENTRYPOINT
    IMG_ARGV=(ARG ...)       what the container runs: ENTRYPOINT + CMD, with
                             Docker's rules for shell forms (/bin/sh -c)

Only the instructions the examples use are understood; anything else is an
error rather than silently ignored, so the e2e run cannot drift from the image.
"""
import json
import shlex
import sys
from pathlib import PurePosixPath

IGNORED = {"ARG", "LABEL", "EXPOSE", "USER", "STOPSIGNAL", "HEALTHCHECK"}


def instructions(text):
    """(KEYWORD, ARGS) per instruction, comments dropped, continuations joined."""
    line = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not line and (not stripped or stripped.startswith("#")):
            continue
        if line and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            line += stripped[:-1] + " "
            continue
        line += stripped
        keyword, _, args = line.partition(" ")
        yield keyword.upper(), args.strip()
        line = ""
    if line:
        sys.exit(f"dockerfile.py: the last instruction ends with a continuation: {line!r}")


def command(args):
    """Exec form (JSON array) as a list; shell form as ['/bin/sh', '-c', args]."""
    if args.startswith("["):
        return json.loads(args), True
    return ["/bin/sh", "-c", args], False


def parse(text):
    stages = []
    for keyword, args in instructions(text):
        if keyword == "FROM":
            stages.append([])
        elif not stages:
            if keyword != "ARG":
                sys.exit(f"dockerfile.py: {keyword} before the first FROM")
        else:
            stages[-1].append((keyword, args))
    if not stages:
        sys.exit("dockerfile.py: no FROM")

    env, copies, runs = [], [], []
    workdir, adapter, entrypoint, cmd = "/", None, None, None
    for keyword, args in stages[-1]:
        if keyword == "ENV":
            words = shlex.split(args)
            if words and "=" not in words[0]:  # legacy `ENV KEY value with spaces`
                words = [words[0] + "=" + " ".join(words[1:])]
            for word in words:
                if "$" in word:
                    sys.exit(f"dockerfile.py: ENV with a substitution is not supported: {word}")
                env.append(word)
        elif keyword == "WORKDIR":
            workdir = str(PurePosixPath(workdir) / args)
        elif keyword == "COPY":
            words = shlex.split(args)
            flags = [w for w in words if w.startswith("--")]
            paths = [w for w in words if not w.startswith("--")]
            dest = paths[-1]
            absolute = str(PurePosixPath(workdir) / dest)
            if any(f.startswith("--from=") for f in flags):
                if PurePosixPath(paths[0]).name != "lambda-adapter":
                    sys.exit(f"dockerfile.py: COPY --from of something else than lambda-adapter: {args}")
                adapter = absolute
            else:
                for src in paths[:-1]:
                    copies += [src, absolute]
        elif keyword == "RUN":
            runs.append(args)
        elif keyword == "ENTRYPOINT":
            entrypoint = command(args)
            cmd = None  # Docker resets CMD when ENTRYPOINT is set after it
        elif keyword == "CMD":
            cmd = command(args)
        elif keyword not in IGNORED:
            sys.exit(f"dockerfile.py: {keyword} is not supported here")

    if entrypoint and not entrypoint[1]:
        argv = entrypoint[0]  # shell-form ENTRYPOINT ignores CMD
    else:
        argv = (entrypoint[0] if entrypoint else []) + (cmd[0] if cmd else [])
    if not argv:
        sys.exit("dockerfile.py: no CMD or ENTRYPOINT")
    if adapter is None:
        sys.exit("dockerfile.py: no COPY --from=... of lambda-adapter in the final stage")
    if argv[0] == adapter:
        mode = "wrapper"
    elif str(PurePosixPath(adapter).parent) == "/opt/extensions":
        mode = "sidecar"
    else:
        sys.exit(f"dockerfile.py: lambda-adapter is at {adapter}, neither ENTRYPOINT nor in /opt/extensions")
    return {
        "IMG_ENV": env,
        "IMG_WORKDIR": workdir,
        "IMG_COPY": copies,
        "IMG_RUN": runs,
        "IMG_ADAPTER": adapter,
        "IMG_MODE": mode,
        "IMG_ARGV": argv,
    }


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: dockerfile.py DOCKERFILE")
    with open(sys.argv[1], encoding="utf-8") as f:
        image = parse(f.read())
    for name, value in image.items():
        if isinstance(value, list):
            print(f"{name}=({' '.join(shlex.quote(v) for v in value)})")
        else:
            print(f"{name}={shlex.quote(value)}")


if __name__ == "__main__":
    main()
