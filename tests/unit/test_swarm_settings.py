"""The swarm backend's settings reach its runtime and image builder: the nodes' engines
(two spellings, and a clear message for a wrong one), the registry, and whether labs may
gain new privileges. (Its behaviour on a real swarm: tests/integration/test_swarm_runtime.py.)"""

from __future__ import annotations

import pytest

from lms import create_app
from lms.labs.app_runtime import lab_image_builder, lab_runtime
from lms.labs.runtime.swarm import SwarmImageBuilder, SwarmRuntime, parse_node_engines


@pytest.mark.parametrize(
    "text",
    [
        "node-2=tcp://10.0.0.2:2376, node-3=tcp://10.0.0.3:2376",
        '{"node-2": "tcp://10.0.0.2:2376", "node-3": "tcp://10.0.0.3:2376"}',
    ],
)
def test_node_engines_are_read_in_both_forms(text):
    assert parse_node_engines(text) == {
        "node-2": "tcp://10.0.0.2:2376",
        "node-3": "tcp://10.0.0.3:2376",
    }


@pytest.mark.parametrize("text", ["node-2", "node-2=", '{"node-2": '])
def test_a_wrong_node_engines_setting_is_named(text):
    with pytest.raises(ValueError, match="LMS_SWARM_NODE_ENGINES"):
        parse_node_engines(text)


def test_the_app_gives_the_swarm_backend_its_settings(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "LMS_SECRET_KEY": "x",
            "LMS_DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite",
            "LMS_LAB_BACKEND": "swarm",
            "LMS_REGISTRY": "registry.example.org:5000/lms",
            "LMS_SWARM_NODE_ENGINES": "node-2=tcp://10.0.0.2:2376",
            "LMS_SWARM_ALLOW_NEW_PRIVILEGES": True,
        }
    )
    runtime, builder = lab_runtime(app), lab_image_builder(app)
    assert isinstance(runtime, SwarmRuntime) and isinstance(builder, SwarmImageBuilder)
    assert runtime._node_urls == {"node-2": "tcp://10.0.0.2:2376"}
    assert runtime._registry == "registry.example.org:5000/lms"
    assert runtime._allow_new_privileges is True
    assert builder._node_urls == runtime._node_urls
    assert builder._registry == runtime._registry
