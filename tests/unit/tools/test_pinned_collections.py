"""tools/pinned_collections.py: the collections pinned in ansible-galaxy requirements files, read as one set."""
import pytest

import pinned_collections


def _requirements(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_the_repository_pins_awx_and_podman_from_one_ansible_release():
    assert pinned_collections.pinned_versions() == {"awx.awx": "24.6.1", "containers.podman": "1.18.0"}
    assert pinned_collections.PACKAGE == "ansible==12.3.0"


def test_one_collection_pinned_twice_alike_is_one_pin(tmp_path):
    first = _requirements(tmp_path, "a.yml", "collections:\n  - name: containers.podman\n    version: 1.18.0\n")
    second = _requirements(tmp_path, "b.yml", "collections:\n  - {name: containers.podman, version: '1.18.0'}\n")
    assert pinned_collections.pinned_versions([first, second]) == {"containers.podman": "1.18.0"}


def test_two_versions_of_one_collection_are_refused_in_one_line(tmp_path):
    first = _requirements(tmp_path, "a.yml", "collections:\n  - name: containers.podman\n    version: 1.18.0\n")
    second = _requirements(tmp_path, "b.yml", "collections:\n  - name: containers.podman\n    version: 1.16.0\n")
    with pytest.raises(SystemExit) as raised:
        pinned_collections.pinned_versions([first, second])
    assert str(raised.value) == "%s pins containers.podman 1.16.0, another requirements file 1.18.0" % second


@pytest.mark.parametrize("text", ["collections: []\n", "roles:\n  - name: x\n", "", "collections:\n  - name: a.b\n"])
def test_a_file_without_a_pinned_version_is_refused_in_one_line(tmp_path, text):
    path = _requirements(tmp_path, "bad.yml", text)
    with pytest.raises(SystemExit) as raised:
        pinned_collections.pinned_versions([path])
    assert str(raised.value).startswith(path)
    assert "\n" not in str(raised.value)
