"""Every lab runtime, the in-memory fake included, implements the whole interface with the
same parameters, so a test on the fake exercises what views and services really call."""

from __future__ import annotations

import inspect

import pytest

from lms.labs.runtime import get_image_builder, get_runtime
from lms.labs.runtime.base import ImageBuilder, LabRuntime
from tests.lab_support import FakeRuntime


def protocol_methods(protocol) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(protocol).items()
        if callable(member) and not name.startswith("_")
    }


def parameters(signature: inspect.Signature) -> list[tuple[str, object]]:
    return [(p.name, p.kind) for p in signature.parameters.values()]


RUNTIMES = {
    "fake": FakeRuntime,
    "docker": lambda: get_runtime(backend="docker"),
    "swarm": lambda: get_runtime(backend="swarm"),
}


@pytest.mark.parametrize("backend", sorted(RUNTIMES))
def test_each_runtime_has_every_method_of_the_interface(backend):
    runtime = RUNTIMES[backend]()
    assert isinstance(runtime, LabRuntime)
    for name, expected in protocol_methods(LabRuntime).items():
        actual = inspect.signature(getattr(runtime, name))
        assert parameters(actual) == parameters(expected)[1:], f"{backend}.{name}"


@pytest.mark.parametrize("backend", ["docker", "swarm"])
def test_each_image_builder_has_every_method_of_its_interface(backend):
    builder = get_image_builder(backend=backend, registry="127.0.0.1:5000")
    assert isinstance(builder, ImageBuilder)
    for name, expected in protocol_methods(ImageBuilder).items():
        actual = inspect.signature(getattr(builder, name))
        assert parameters(actual) == parameters(expected)[1:], f"{backend}.{name}"


def test_an_unknown_backend_is_refused_with_the_setting_named():
    with pytest.raises(ValueError, match="LMS_LAB_BACKEND"):
        get_runtime(backend="kubernetes")
