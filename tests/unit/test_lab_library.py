"""The lab library: the platform's one reader of lab.yaml, which sees an edit at once."""

from lms import create_app
from lms.content import lab_library
from tests.conftest import test_config

CHECK_TASK = '  - id: {id}\n    title: Task {id}\n    type: check\n    run: "true"\n'


def write_lab(folder, title: str, task_ids: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Dockerfile").write_text("FROM lms-base/busybox:latest\n")
    tasks = "".join(CHECK_TASK.format(id=task_id) for task_id in task_ids)
    (folder / "lab.yaml").write_text(f"title: {title}\ntasks:\n{tasks}")


def test_an_edited_lab_is_read_again_at_once(tmp_path):
    labs = tmp_path / "labs"
    write_lab(labs / "tiny", "Tiny", ["one"])
    app = create_app(test_config(tmp_path, LMS_LABS_DIR=str(labs)))
    with app.app_context():
        assert lab_library.get_spec("tiny").title == "Tiny"
        assert lab_library.task_totals({"tiny", "missing"}) == {"tiny": 1, "missing": 0}
        write_lab(labs / "tiny", "Tiny, edited", ["one", "two"])
        assert lab_library.get_spec("tiny").title == "Tiny, edited"
        assert lab_library.task_totals({"tiny"}) == {"tiny": 2}
        (labs / "tiny" / "lab.yaml").write_text("title: Tiny\nnetwork: wide\n")
        assert lab_library.get_spec("tiny") is None  # invalid: not startable, no tasks
        assert lab_library.task_totals({"tiny"}) == {"tiny": 0}
        assert lab_library.lab_slugs() == {"tiny"}
        assert lab_library.get_spec("../tiny") is None
