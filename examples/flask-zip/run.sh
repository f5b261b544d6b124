#!/bin/sh
# The function's handler: the layer's /opt/bootstrap execs this in the task
# root (/var/task), where the zip holds app.py and its packages.
# No control socket: it would go in $HOME, and only /tmp is writable on Lambda.
exec python3 -m gunicorn --bind "127.0.0.1:${PORT:-8000}" --workers 2 --no-control-socket app:app
