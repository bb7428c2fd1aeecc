"""Stand-in for the pip bootstrap script ansible-test downloads from a host this network cannot reach.

ansible-test runs it as ``python get_pip.py [pip options] pip==X ... --no-setuptools --no-wheel`` inside an
empty virtual environment. The same is done here with the standard library's ensurepip and PyPI.
"""
import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"],
                      stdout=subprocess.DEVNULL)
args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args))
