"""What the artifact-file tests share: running under a given umask."""
import contextlib
import os


@contextlib.contextmanager
def umask(value):
    """Run the block under ``value`` as the process umask, then restore the previous one."""
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)
