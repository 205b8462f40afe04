"""The app in a real browser: `streamlit run` on 127.0.0.1, driven by Playwright with Debian's chromium.

The path: the welcome page, a lesson with a Check of the reference laid out as a student's work,
a click on a cell of the attention heatmap, lecture mode and the poet studio, with no request
leaving the app's own address. In classroom mode, a student's and the teacher's sign-ins survive
a reload. Screenshots go to `tmp_path`, and also to $LLM_FROM_SCRATCH_SCREENSHOTS when it names a
folder.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from test_app_course import write_reference_workspace

REPOSITORY = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENSHOTS_VARIABLE = "LLM_FROM_SCRATCH_SCREENSHOTS"
SERVER_START_TIMEOUT_S = 60
# The first Check starts the grader's workers, which import torch; later ones return in under a second.
FIRST_CHECK_TIMEOUT_MS = 90_000
CLASS_CODE = "sea-shanty"
TEACHER_PASSWORD = "lighthouse-keeper"
DASHBOARD_TITLE = "Teacher dashboard"

playwright_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_health(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with status {server.returncode} before serving")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer on {url} within {SERVER_START_TIMEOUT_S} s")


@pytest.fixture
def app_url(tmp_path):
    """Start `streamlit run app.py` on a free local port with a reference workspace; stop it afterwards."""
    workspace = write_reference_workspace(tmp_path / "student")
    environment = {**os.environ, "LLM_FROM_SCRATCH_WORKSPACE": str(workspace),
                   "LLM_FROM_SCRATCH_COURSE_DIR": str(tmp_path / "course")}
    environment.pop("LLM_FROM_SCRATCH_CLASSROOM", None)
    yield from serve_app(environment, tmp_path)


def serve_app(environment: dict, tmp_path: Path):
    """Run `streamlit run app.py` with `environment` on a free local port; yield its URL, then stop it."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
               "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    log = open(tmp_path / "streamlit.log", "wb")
    server = subprocess.Popen(command, cwd=REPOSITORY, env=environment, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, server)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


@pytest.fixture
def classroom_url(tmp_path):
    """Start the app in classroom mode on a configured class; stop it afterwards."""
    from grader.classroom import Classroom
    from grader.gradebook import Gradebook, default_url

    course = tmp_path / "class"
    with Gradebook(default_url(course)) as book:
        Classroom(course, book).configure(CLASS_CODE, TEACHER_PASSWORD)
    environment = {**os.environ, "LLM_FROM_SCRATCH_CLASSROOM": "1", "LLM_FROM_SCRATCH_COURSE_DIR": str(course)}
    environment.pop("LLM_FROM_SCRATCH_WORKSPACE", None)
    yield from serve_app(environment, tmp_path)


@pytest.fixture
def browser_page():
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing; install Debian's chromium package (apt-get install -y chromium)")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            yield page
        finally:
            browser.close()


def save_screenshot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    extra = os.environ.get(SCREENSHOTS_VARIABLE)
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(extra) / path.name)
    return path


def wait_for_idle(page) -> None:
    """Wait until Streamlit has finished the current run (its status widget disappears)."""
    page.wait_for_timeout(300)
    page.wait_for_selector("[data-testid='stStatusWidget']", state="detached", timeout=FIRST_CHECK_TIMEOUT_MS)


def click_attention_cell(chart, query: int, key: int) -> None:
    """Click the centre of heatmap cell (query, key) in the chart's first panel."""
    # Plotly gives the first panel's y labels the class ytick (the others y2tick, ...), and a short
    # line has one label per token.
    T = chart.locator(".ytick text").count()
    area = chart.locator(".nsewdrag").first.bounding_box()
    x = area["x"] + (key + 0.5) / T * area["width"]
    y = area["y"] + (query + 0.5) / T * area["height"]  # query 0 is the top row
    chart.page.mouse.click(x, y)


def choose_row_by_click(chart, query: int, title: str) -> None:
    """Click a cell in row `query` and wait for `title`, with the row's token label in its {}."""
    click_attention_cell(chart, query=query, key=1)
    row_label = chart.locator(".ytick text").nth(query).text_content()
    chart.page.get_by_text(title.format(row_label)).wait_for(timeout=30_000)
    wait_for_idle(chart.page)


def test_browser_lesson_check_and_lecture(app_url, browser_page, tmp_path):
    page = browser_page
    # Classroom networks are often offline, and students' browsers should not call third parties.
    outside = []
    page.on("request", lambda request: outside.append(request.url)
            if not request.url.startswith((app_url, "data:", "blob:", "about:")) else None)
    page.goto(app_url)
    page.get_by_role("heading", name="LLM From Scratch").wait_for(timeout=60_000)
    page.get_by_text("Your progress").first.wait_for(timeout=30_000)
    wait_for_idle(page)
    save_screenshot(page, tmp_path, "01_welcome")

    page.goto(f"{app_url}/lesson-attention")
    page.get_by_role("heading", name="4. Attention").wait_for(timeout=60_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    page.get_by_role("button", name="Check").first.click()
    passed = page.get_by_text(re.compile(r"Numerically stable softmax: (\d+) / \1 points, passed"))
    passed.wait_for(timeout=FIRST_CHECK_TIMEOUT_MS)
    wait_for_idle(page)
    page.get_by_text("1 of 24 exercises").wait_for(timeout=10_000)
    passed.scroll_into_view_if_needed()
    save_screenshot(page, tmp_path, "02_lesson_check_passed")

    page.goto(f"{app_url}/attention")
    heatmap = page.locator(".js-plotly-plot").first
    heatmap.wait_for(timeout=60_000)
    wait_for_idle(page)
    choose_row_by_click(heatmap, 2, "Where {} looks, in every head")
    save_screenshot(page, tmp_path, "03_attention_clicked_row")

    page.goto(f"{app_url}/lecture")
    page.get_by_role("heading", name="Where does the poet look?").wait_for(timeout=60_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    wait_for_idle(page)
    assert page.locator(".js-plotly-plot .heatmaplayer").count() >= 1
    choose_row_by_click(page.locator(".js-plotly-plot").first, 3, "every head, row of {}")
    save_screenshot(page, tmp_path, "04_lecture_attention")

    page.goto(f"{app_url}/poet_studio")
    page.get_by_role("heading", name="Poet studio").wait_for(timeout=60_000)
    page.get_by_text("Your poet uses 1 of").wait_for(timeout=60_000)  # softmax passed above
    wait_for_idle(page)
    save_screenshot(page, tmp_path, "05_poet_studio")
    assert outside == []


def sign_in_as_student(page, url: str, name: str, password: str) -> None:
    page.goto(url)
    sidebar = page.locator("[data-testid='stSidebar']")
    sidebar.get_by_label("Your name").fill(name)
    sidebar.get_by_label("Class code").first.fill(CLASS_CODE)
    sidebar.get_by_label("Your password").fill(password)
    sidebar.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_text(f"Signed in as {name.lower()}").wait_for(timeout=60_000)
    wait_for_idle(page)


def test_browser_sign_in_survives_reload(classroom_url, browser_page, tmp_path):
    page = browser_page
    sign_in_as_student(page, classroom_url, "Ada", "quill-and-ink")
    page.goto(f"{classroom_url}/lesson-attention")
    page.get_by_role("heading", name="4. Attention").wait_for(timeout=60_000)
    page.get_by_text("Signed in as ada").wait_for(timeout=30_000)
    save_screenshot(page, tmp_path, "06_classroom_after_reload")

    # Signing out revokes the token, so the next reload shows the sign-in form again.
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Your name").wait_for(timeout=30_000)
    wait_for_idle(page)
    page.reload()
    page.get_by_label("Your name").wait_for(timeout=60_000)
    assert page.get_by_text("Signed in as ada").count() == 0


def test_browser_teacher_dashboard_survives_reload(classroom_url, browser_page):
    page = browser_page
    page.goto(classroom_url)
    sidebar = page.locator("[data-testid='stSidebar']")
    sidebar.get_by_text("Teacher", exact=True).click()
    sidebar.get_by_label("Class code").last.fill(CLASS_CODE)
    sidebar.get_by_label("Teacher password").fill(TEACHER_PASSWORD)
    sidebar.get_by_role("button", name="Sign in as teacher").click()
    page.get_by_text("Signed in as teacher").wait_for(timeout=60_000)
    wait_for_idle(page)

    # Typing the dashboard's address starts a new session, which must find the teacher's sign-in.
    page.goto(f"{classroom_url}/teacher")
    page.get_by_role("heading", name=DASHBOARD_TITLE).wait_for(timeout=60_000)
    page.get_by_text("Signed in as teacher").wait_for(timeout=30_000)
    assert page.get_by_text("Page not found").count() == 0
