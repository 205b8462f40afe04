"""The course pages under `AppTest`: lessons with Check and self-checks, lecture mode, the poet studio.

Real components throughout: the grader's sandboxed pool, the nbgrader gradebook in `tmp_path`,
the demo poet, and a sandboxed training of the assembled poet.
"""

import json
import math
import shutil
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from course.lessons import grade_answer, load_lessons
from course.pages.exercise_panel import function_source
from course.pages.poet_studio import attention_caption, recent_throughput
from course.models import POET_PATH_VARIABLE
from course.pages.student import COURSE_DIR_VARIABLE, WORKSPACE_VARIABLE
from tests.workspaces import write_reference_workspace
from reference.cli import DEMO_POET
from reference.poet import load_poet
from test_app import plotly_array

REPOSITORY = Path(__file__).resolve().parent.parent
APP = str(REPOSITORY / "app.py")
LECTURE_PAGE = "course/pages/lecture.py"
STUDIO_PAGE = "course/pages/poet_studio.py"


def write_stub_workspace(folder: Path) -> Path:
    shutil.copytree(REPOSITORY / "exercises", folder / "exercises", ignore=shutil.ignore_patterns("__pycache__"))
    return folder


@pytest.fixture(autouse=True)
def course_folders(monkeypatch, tmp_path):
    """Give each test its own gradebook folder and the shipped demo poet."""
    monkeypatch.delenv(POET_PATH_VARIABLE, raising=False)
    monkeypatch.setenv(COURSE_DIR_VARIABLE, str(tmp_path / "course"))
    if not DEMO_POET.is_file():
        pytest.skip(f"the demo poet {DEMO_POET} is absent; create it with `make demo-poet`")


def switch_to(app: AppTest, page: str) -> AppTest:
    """Switch to a script page by path, or to a lesson page by its url path ("lesson-attention")."""
    if page.endswith(".py"):
        return app.switch_page(page).run()
    # NOTE: AppTest.switch_page takes only script files, and lesson pages are functions, so this
    # looks the url path up in AppTest's private page registry (Streamlit 1.67).
    matches = [page_hash for page_hash, info in app._registered_pages.items() if info.get("url_pathname") == page]
    assert matches, f"no page with url path {page!r}"
    app._page_hash = matches[0]
    return app.run()


def open_page(page: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=120).run()
    switch_to(app, page)
    assert not app.exception, [item.value for item in app.exception]
    return app


def plotly_specs(app: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def check_table(app: AppTest) -> str:
    return " ".join(element.proto.body for element in app.html if "class='checks'" in element.proto.body)


# ---------------------------------------------------------------------------------------------


def test_function_source_docstring_example():
    source = 'def f(x):\n    "Double x."\n    return 2 * x\n'
    assert function_source(source, "f") == ("Double x.", 'def f(x):\n    "Double x."\n    return 2 * x')


def test_function_source_finds_import_and_absence():
    source = "from exercises.helpers import softmax as softmax\n"
    assert function_source(source, "softmax") == ("", source.strip())
    assert function_source(source, "gelu") == ("", "")
    assert function_source("def broken(:\n", "broken") == ("", "")


def test_navigation_lists_every_lesson_in_order():
    app = AppTest.from_file(APP, default_timeout=120).run()
    assert not app.exception
    lessons = load_lessons()
    for lesson in lessons:
        switch_to(app, f"lesson-{lesson.id}")
        assert not app.exception, (lesson.id, [item.value for item in app.exception])
    progress = " ".join(caption.value for caption in app.sidebar.caption)
    titled = [lesson for lesson in lessons if lesson.exercises]
    positions = [progress.index(f"{lesson.order}. {lesson.title}") for lesson in titled]
    assert positions == sorted(positions)


def test_lesson_page_shows_text_figure_and_tasks(monkeypatch, tmp_path):
    monkeypatch.setenv(WORKSPACE_VARIABLE, str(write_stub_workspace(tmp_path / "student")))
    app = open_page("lesson-attention")
    assert app.title[0].value == "4. Attention"
    assert any("Softmax, safely" in markdown.value for markdown in app.markdown)
    assert len(plotly_specs(app)) == 2  # causal_mask and attention_heatmap
    codes = " ".join(code.value for code in app.code)
    assert "def softmax" in codes
    assert "NotImplementedError" in codes


def test_non_utf8_exercise_file_named_on_page(monkeypatch, tmp_path):
    workspace = write_stub_workspace(tmp_path / "student")
    lesson_file = workspace / "exercises" / "lesson04_attention.py"
    lesson_file.write_bytes(lesson_file.read_bytes() + b"# caf\xe9\n")
    monkeypatch.setenv(WORKSPACE_VARIABLE, str(workspace))
    app = open_page("lesson-attention")
    errors = " ".join(error.value for error in app.error)
    assert f"{lesson_file} is not valid UTF-8" in errors
    assert "save it as UTF-8" in errors


def test_check_reference_as_student_passes(monkeypatch, tmp_path):
    monkeypatch.setenv(WORKSPACE_VARIABLE, str(write_reference_workspace(tmp_path / "student")))
    app = open_page("lesson-attention")
    app.button(key="lesson.attention.check.softmax").click().run()
    assert not app.exception, [item.value for item in app.exception]

    result = app.session_state["student.results"]["softmax"]
    assert result.passed
    assert any("Numerically stable softmax: " in success.value and "passed" in success.value for success in app.success)
    assert "FAIL" not in check_table(app)
    assert "1 of 24 exercises" in " ".join(markdown.value for markdown in app.sidebar.markdown)


def test_check_records_attempt_in_gradebook(monkeypatch, tmp_path):
    from grader.gradebook import Gradebook, default_url

    monkeypatch.setenv(WORKSPACE_VARIABLE, str(write_reference_workspace(tmp_path / "student")))
    app = open_page("lesson-text_as_numbers")
    app.button(key="lesson.text_as_numbers.check.utf8_bytes").click().run()
    assert not app.exception
    with Gradebook(default_url(tmp_path / "course")) as book:
        attempts = book.find_attempts("local", "utf8_bytes")
    assert len(attempts) == 1
    assert attempts[0].passed


def test_check_stub_reports_not_implemented(monkeypatch, tmp_path):
    monkeypatch.setenv(WORKSPACE_VARIABLE, str(write_stub_workspace(tmp_path / "student")))
    app = open_page("lesson-attention")
    started = time.perf_counter()
    app.button(key="lesson.attention.check.causal_mask").click().run()
    elapsed = time.perf_counter() - started
    assert not app.exception

    result = app.session_state["student.results"]["causal_mask"]
    assert not result.passed
    table = check_table(app)
    assert "FAIL" in table
    # Every check of a stub fails with the same words, so the page states them once, above the table.
    assert "same reason as above" in table
    assert any("Every check failed for the same reason: not implemented yet" in warning.value
               for warning in app.warning)
    # A generous bound for a loaded CI machine. The warm pool returns results in well under a second.
    assert elapsed < 10, f"Check took {elapsed:.1f} s"


def test_self_check_question_graded_on_the_spot():
    lesson = next(lesson for lesson in load_lessons() if lesson.id == "attention")
    question = next(q for q in lesson.questions if q.kind == "choice")
    right = question.options[question.correct_option]
    wrong = next(option for option in question.options if option != right)
    app = open_page("lesson-attention")
    app.radio(key=f"lesson.attention.question.{question.id}").set_value(wrong).run()
    assert grade_answer(question, wrong)[1] in [error.value for error in app.error]
    app.radio(key=f"lesson.attention.question.{question.id}").set_value(right).run()
    assert grade_answer(question, right)[1] in [success.value for success in app.success]


def test_self_check_answer_recorded_once(tmp_path):
    from grader.gradebook import Gradebook, default_url

    lesson = next(lesson for lesson in load_lessons() if lesson.id == "attention")
    question = next(q for q in lesson.questions if q.kind == "choice")
    right = question.options[question.correct_option]
    app = open_page("lesson-attention")
    app.radio(key=f"lesson.attention.question.{question.id}").set_value(right).run()
    app.run()  # an unrelated rerun must not record the same answer again
    assert not app.exception

    with Gradebook(default_url(tmp_path / "course")) as book:
        answers = book.find_answers("local", "attention")
    assert [(a["question_id"], a["answer"], a["correct"]) for a in answers] == [(question.id, right, True)]


def test_lecture_token_choice_outlines_row():
    app = open_page(LECTURE_PAGE)
    app.text_input(key="lecture.text").input("The moon upon the water").run()
    grid = plotly_specs(app)[0]
    heads = sum(trace["type"] == "heatmap" for trace in grid["data"])
    assert sum(trace["type"] == "scatter" for trace in grid["data"]) == heads  # one click layer per panel
    T = len(plotly_array(grid["data"][0]["z"]))
    assert {shape["y0"] for shape in grid["layout"]["shapes"]} == {T - 1 - 0.5}
    assert len(grid["layout"]["shapes"]) == heads

    every_head = plotly_specs(app)[1]
    assert len(plotly_array(every_head["data"][0]["z"])) == load_poet(DEMO_POET).model.config.n_layer * heads

    app.select_slider(key="lecture.token").set_value(1).run()
    grid, every_head = plotly_specs(app)
    assert {shape["y0"] for shape in grid["layout"]["shapes"]} == {0.5}
    rows = plotly_array(every_head["data"][0]["z"])
    assert all(value is None or math.isnan(value) for row in rows for value in row[2:])
    assert any("tiktoken cl100k_base" in markdown.value for markdown in app.markdown)


def test_lecture_new_line_chooses_last_token():
    app = open_page(LECTURE_PAGE)
    app.select_slider(key="lecture.token").set_value(1).run()
    line = "The sea at night, the moon above the water, and the wind"
    app.text_input(key="lecture.text").input(line).run()

    slider = app.select_slider(key="lecture.token")
    assert slider.value == len(slider.options) - 1
    grid = plotly_specs(app)[0]
    T = len(plotly_array(grid["data"][0]["z"]))
    assert {shape["y0"] for shape in grid["layout"]["shapes"]} == {T - 1 - 0.5}


def test_studio_uses_teacher_corpus(monkeypatch, tmp_path):
    corpus = tmp_path / "sonnets.txt"
    corpus.write_text("Shall I compare thee to a summer's day?\nThou art more lovely and more temperate.\n" * 200)
    monkeypatch.setenv("LLM_FROM_SCRATCH_STUDIO_CORPUS", str(corpus))
    monkeypatch.setenv(WORKSPACE_VARIABLE, str(write_stub_workspace(tmp_path / "student")))
    app = open_page(STUDIO_PAGE)
    assert any(str(corpus) in caption.value for caption in app.caption)


def test_studio_missing_corpus_named(monkeypatch, tmp_path):
    missing = tmp_path / "nowhere.txt"
    monkeypatch.setenv("LLM_FROM_SCRATCH_STUDIO_CORPUS", str(missing))
    monkeypatch.setenv(WORKSPACE_VARIABLE, str(write_stub_workspace(tmp_path / "student")))
    app = AppTest.from_file(APP, default_timeout=120).run()
    switch_to(app, STUDIO_PAGE)
    errors = " ".join(error.value for error in app.error)
    assert str(missing) in errors
    assert "LLM_FROM_SCRATCH_STUDIO_CORPUS" in errors


def test_studio_starts_and_stops_training(monkeypatch, tmp_path):
    monkeypatch.setenv(WORKSPACE_VARIABLE, str(write_reference_workspace(tmp_path / "student")))
    app = open_page("lesson-attention")
    app.button(key="lesson.attention.check.softmax").click().run()
    switch_to(app, STUDIO_PAGE)
    assert not app.exception, [item.value for item in app.exception]
    pieces = app.dataframe[0].value.set_index("piece")["code"]
    assert pieces["softmax"] == "yours"
    assert pieces["embed"] == "reference"

    app.slider(key="studio.steps").set_value(2000).run()
    app.button(key="studio.start").click().run()
    assert not app.exception, [item.value for item in app.exception]
    assert not app.warning, [item.value for item in app.warning]
    run = app.session_state["studio.run"]
    deadline = time.monotonic() + 120
    while not run.records and run.running and time.monotonic() < deadline:
        time.sleep(0.5)
    assert run.records, f"no training step arrived: {run.status} {run.message}"
    app.run()
    app.button(key="studio.stop").click().run()
    while run.running and time.monotonic() < deadline:
        time.sleep(0.5)
    assert run.status == "stopped", run.message
    assert run.records[-1]["step"] < 2000
    assert run.weights_path.is_file()

    app.run()
    assert not app.exception
    assert any("Training stopped" in info.value for info in app.info)


def test_studio_poet_writes_and_shows_attention(monkeypatch, tmp_path):
    monkeypatch.setenv(WORKSPACE_VARIABLE, str(write_reference_workspace(tmp_path / "student")))
    app = open_page(STUDIO_PAGE)
    app.slider(key="studio.steps").set_value(20).run()
    app.button(key="studio.start").click().run()
    run = app.session_state["studio.run"]
    deadline = time.monotonic() + 180
    while run.running and time.monotonic() < deadline:
        time.sleep(0.5)
    assert run.status == "finished", run.message

    app.run()
    app.text_input(key="studio.prompt").input("Upon the hill").run()
    app.button(key="studio.write").click().run()
    assert not app.exception, [item.value for item in app.exception]
    assert not app.error, [item.value for item in app.error]
    poem = app.session_state["studio.poem"]
    assert poem.text.startswith("Upon the hill")
    assert app.session_state["studio.demo_poem"].startswith("Upon the hill")
    grid = plotly_specs(app)[-1]
    assert sum(trace["type"] == "heatmap" for trace in grid["data"]) == run.settings.n_head
    assert "Your poet, layer 1" in grid["layout"]["title"]["text"]
    # The first panel draws the sandbox's numbers for head 1 of layer 1 on and below the diagonal.
    z = plotly_array(grid["data"][0]["z"])
    head = poem.attention[0][0].tolist()  # (T, T)
    assert len(z) == len(poem.ids)
    assert all(math.isclose(z[i][j], head[i][j], abs_tol=1e-6) for i in range(len(z)) for j in range(i + 1))
    # No exercise was checked, so every piece is the reference's, and the caption must name the reference.
    assert poem.source == "reference", poem.reason
    assert any("computed by the reference attention" in caption.value for caption in app.caption)

    # A second training replaces this poet, so the page warns first and drops the old poems when it starts.
    assert any("Training again replaces the poet you have now" in caption.value for caption in app.caption)
    assert "studio.poem" in app.session_state
    app.button(key="studio.start").click().run()
    assert "studio.poem" not in app.session_state
    assert "studio.demo_poem" not in app.session_state
    app.session_state["studio.run"].stop()


def test_studio_throughput_is_median_of_recent_steps():
    records = [{"tokens_per_second": value} for value in (100.0, 9000.0, 9100.0, 8900.0)]
    assert recent_throughput(records, window=3) == 9000.0
    assert recent_throughput(records[:1]) == 100.0
    many = [{"tokens_per_second": float(value)} for value in range(1, 31)]
    assert recent_throughput(many) == 25.5  # the last ten steps: 21 to 30


def test_studio_caption_names_student_inner_pieces():
    assert "your own scaled_dot_product_attention" in attention_caption("yours", {"softmax": "reference"})
    assert attention_caption("reference", {"softmax": "reference", "causal_mask": "reference"}).startswith(
        "Attention computed by the reference attention (yours does not pass yet)")
    both = attention_caption("reference", {"softmax": "yours", "causal_mask": "yours"})
    assert "reference attention formula with your own softmax and causal_mask" in both


# ---------------------------------------------------------------------------------------------
# classroom mode

CLASS_CODE = "sea-shanty"
TEACHER_PASSWORD = "lighthouse-keeper"
# A student's softmax, written independently of the reference. A fully masked row gives zeros.
SOFTMAX_BODY = (
    "    peak = x.amax(dim=dim, keepdim=True).nan_to_num(neginf=0.0)\n"
    "    exp = (x - peak).exp()\n"
    "    return exp / exp.sum(dim=dim, keepdim=True).clamp_min(1e-30)\n"
)


@pytest.fixture
def classroom_course(monkeypatch, tmp_path):
    """A configured classroom in tmp_path, with the plain text editor so AppTest can type in it."""
    from course.pages import exercise_panel
    from grader.classroom import Classroom
    from grader.gradebook import Gradebook, default_url

    course = tmp_path / "course"
    monkeypatch.setenv(COURSE_DIR_VARIABLE, str(course))
    monkeypatch.setenv("LLM_FROM_SCRATCH_CLASSROOM", "1")
    monkeypatch.setattr(exercise_panel, "st_ace", None)
    with Gradebook(default_url(course)) as book:
        Classroom(course, book).configure(CLASS_CODE, TEACHER_PASSWORD)
    return course


def sign_in_student(name: str, password: str = "quill-and-ink") -> AppTest:
    app = AppTest.from_file(APP, default_timeout=120).run()
    app.text_input(key="account.name").input(name)
    app.text_input(key="account.class_code").input(CLASS_CODE)
    app.text_input(key="account.student_password").input(password)
    app.button(key="account.sign_in").click().run()
    assert not app.exception, [item.value for item in app.exception]
    return app


def test_classroom_welcome_says_where_to_write(classroom_course):
    app = AppTest.from_file(APP, default_timeout=120).run()
    text = " ".join(markdown.value for markdown in app.markdown)
    assert "editor on each lesson page" in text
    assert "`exercises/`" not in text
    assert any("Sign in in the sidebar" in info.value for info in app.info)

    signed_in = sign_in_student("Ada")
    assert not any("Sign in in the sidebar" in info.value for info in signed_in.info)


def test_local_welcome_points_to_exercise_files():
    app = AppTest.from_file(APP, default_timeout=120).run()
    assert "`exercises/`" in " ".join(markdown.value for markdown in app.markdown)
    assert not any("Sign in in the sidebar" in info.value for info in app.info)


def test_classroom_wrong_code_rejected(classroom_course):
    app = AppTest.from_file(APP, default_timeout=120).run()
    app.text_input(key="account.name").input("Ada")
    app.text_input(key="account.class_code").input("wrong-code")
    app.text_input(key="account.student_password").input("quill-and-ink")
    app.button(key="account.sign_in").click().run()
    assert any("Sign-in failed" in error.value for error in app.sidebar.error)
    switch_to(app, "lesson-attention")
    assert any("Sign in with your name" in info.value for info in app.info)


def test_classroom_edit_saves_and_checks(classroom_course):
    app = sign_in_student("Ada Lovelace")
    switch_to(app, "lesson-attention")
    editor = app.text_area(key="lesson.attention.editor.exercises/lesson04_attention.py")
    solved = editor.value.replace('    raise NotImplementedError("write softmax here")\n', SOFTMAX_BODY)
    assert solved != editor.value
    editor.input(solved).run()
    assert not app.exception, [item.value for item in app.exception]

    workspace = classroom_course / "course_data" / "workspaces" / "ada-lovelace"
    assert (workspace / "exercises" / "lesson04_attention.py").read_text() == solved
    assert list((workspace / "history").rglob("*.py")), "the stub version was not kept"

    app.button(key="lesson.attention.check.softmax").click().run()
    assert app.session_state["student.results"]["softmax"].passed


def test_teacher_dashboard_shows_class(classroom_course):
    student = sign_in_student("Grace Hopper")
    switch_to(student, "lesson-attention")
    student.button(key="lesson.attention.check.softmax").click().run()

    app = AppTest.from_file(APP, default_timeout=120).run()
    with pytest.raises(ValueError):
        app.switch_page("course/pages/teacher.py")  # not in the navigation before the teacher signs in
    app.text_input(key="account.teacher_class_code").input(CLASS_CODE)
    app.text_input(key="account.teacher_password").input(TEACHER_PASSWORD)
    app.button(key="account.teacher_sign_in").click().run()
    switch_to(app, "course/pages/teacher.py")
    assert not app.exception, [item.value for item in app.exception]

    heatmap = plotly_specs(app)[0]
    assert "grace-hopper" in json.dumps(heatmap["data"][0]["y"])
    failing, _, poets = (frame.value for frame in app.dataframe)  # failing checks, hints, poets
    assert failing.empty  # a stub's NotImplementedError is not counted as a mistake
    assert list(poets["student"]) == ["grace-hopper"]


def test_classroom_wrong_password_hides_student_code(classroom_course):
    draft = "# Ada's own draft, for her eyes only\n"
    ada = sign_in_student("Ada Lovelace", password="ada-quill")
    switch_to(ada, "lesson-attention")
    editor = ada.text_area(key="lesson.attention.editor.exercises/lesson04_attention.py")
    editor.input(draft + editor.value).run()
    assert not ada.exception, [item.value for item in ada.exception]

    intruder = sign_in_student("Ada Lovelace", password="guess-1234")
    assert any("Sign-in failed" in error.value for error in intruder.sidebar.error)
    assert "student.signed_in" not in intruder.session_state
    switch_to(intruder, "lesson-attention")
    assert any("Sign in with your name" in info.value for info in intruder.info)
    assert not any(draft in area.value for area in intruder.text_area)
    assert not any(draft in block.value for block in intruder.code)

    teacher = AppTest.from_file(APP, default_timeout=120).run()
    teacher.text_input(key="account.teacher_class_code").input(CLASS_CODE)
    teacher.text_input(key="account.teacher_password").input(TEACHER_PASSWORD)
    teacher.button(key="account.teacher_sign_in").click().run()
    switch_to(teacher, "course/pages/teacher.py")
    teacher.selectbox(key="teacher.reset_student").select("ada-lovelace")
    teacher.button(key="teacher.reset_password").click().run()
    assert not teacher.exception, [item.value for item in teacher.exception]
    assert any("ada-lovelace" in message.value for message in teacher.success)

    # After the reset, the next sign-in sets a new password and finds the draft still there.
    again = sign_in_student("Ada Lovelace", password="new-quill")
    switch_to(again, "lesson-attention")
    editor = again.text_area(key="lesson.attention.editor.exercises/lesson04_attention.py")
    assert editor.value.startswith(draft)
