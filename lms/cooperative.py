"""Work that must not stall the other connections of a gevent worker.

Under gunicorn's gevent workers (gunicorn.conf.py) every connection is a
greenlet of one thread: a long computation on one of them stops all the
others, terminals included. Password hashing (scrypt, most of a second on a
busy machine) releases the interpreter lock, so it runs on gevent's pool of
real threads instead and the other greenlets go on meanwhile. Without gevent
(the development server, tests, the CLI) it is a plain call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

Result = TypeVar("Result")


def off_the_loop(function: Callable[..., Result], *args) -> Result:
    """``function(*args)``, on a real thread when this process runs on gevent."""
    try:
        from gevent import get_hub, monkey
    except ImportError:  # gevent is a dependency; a build without it still works
        return function(*args)
    if not monkey.is_module_patched("threading"):
        return function(*args)
    return get_hub().threadpool.apply(function, args)
