"""Give `ansible-test --venv` its pip bootstrap script without leaving the package index.

ansible-test seeds each virtualenv with a get-pip script downloaded from a host CI cannot
reach, but uses a cached copy when one exists. This writes that copy: a few lines that run
pip from the pip wheel of the same version, fetched from the package index.
"""

import glob
import os
import subprocess
import sys
import types

from ansible_test._internal.python_requirements import get_venv_packages

# get-pip's own flags (--no-setuptools, --no-wheel) mean "install only what is named": drop them.
SCRIPT = '''import sys
sys.path.insert(0, {wheel!r})
from pip._internal.cli.main import main
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--upgrade", "--force-reinstall", "--find-links", {wheels!r}] + args))
'''


def main():
    python = types.SimpleNamespace(version="%d.%d" % sys.version_info[:2])
    version = get_venv_packages(python)["pip"]
    cache = os.path.expanduser("~/.ansible/test/cache")
    script = os.path.join(cache, "get_pip_%s.py" % version.replace(".", "_"))
    if os.path.exists(script):
        return
    wheels = os.path.join(cache, "pip-wheels")
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                    "-d", wheels, "pip==%s" % version], check=True)
    wheel = glob.glob(os.path.join(wheels, "pip-%s-*.whl" % version))[0]
    with open(script + ".tmp", "w") as handle:
        handle.write(SCRIPT.format(wheel=wheel, wheels=wheels))
    os.replace(script + ".tmp", script)
    print("wrote ansible-test pip %s bootstrap from the package index" % version)


if __name__ == "__main__":
    main()
