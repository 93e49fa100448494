"""The example site's admin in a real browser, step by step as a new user would use it.

The example project runs exactly as ``./dev.sh example`` runs it: ``manage.py migrate``,
``createsuperuser`` and ``runserver``, each a subprocess with the project's own settings. Its
``MONGODB_URI`` points at this test run's MongoDB server (the embedded one, or the real one named
by ``MONGODB_URI``) and ``EXAMPLE_DB_NAME`` at a database of its own, dropped afterwards, so the
test never touches ``example_project/.mongo``. Running the site in a subprocess (rather than
pytest-django's ``live_server``) keeps the test settings free of the example app, exercises the
committed migrations and the real ``runserver`` with its static files, and keeps the server
thread's transactions out of the test process.

Headless Chromium is driven through Selenium; the test is skipped only when the ``chromium`` /
``chromedriver`` binaries are missing (``.ci/install-browser.sh`` installs them). A failing step
leaves a screenshot and the page's HTML in a temporary directory (see the report's "browser"
section), and the server's log is appended to the failure message.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DIR = REPO_ROOT / "example_project"
CHROMIUM = os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BINARY", "/usr/bin/chromedriver")
CHROME_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1024",
]
WAIT = 30  # seconds for one page or one element
SERVER_START_TIMEOUT = 120
COMMAND_TIMEOUT = 300

USERNAME = "admin"
PASSWORD = "e2e-Secret-pass-42"
AUTHOR = "Ada Lovelace"
OTHER_AUTHOR = "Alan Turing"  # the author list filter shows only with two or more authors
TAG = "mongodb"
TITLE = "Hello MongoDB"
EDITED_TITLE = "Hello MongoDB, edited"
COMMENTER = "Grace Hopper"


def _missing_binaries():
    return [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]


pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        bool(_missing_binaries()),
        reason=(
            f"headless browser not installed (missing {', '.join(_missing_binaries())}); "
            "run .ci/install-browser.sh, or set CHROMIUM_BINARY / CHROMEDRIVER_BINARY"
        ),
    ),
]


# -- the example site in subprocesses --------------------------------------------------------


class ExampleSite:
    """``manage.py`` of the example project, against a database of the test's own."""

    def __init__(self, mongo_uri, db_name, workdir):
        self.mongo_uri = mongo_uri
        self.db_name = db_name
        self.workdir = workdir
        self.log_path = workdir / "runserver.log"
        self.server = None
        self.base_url = None
        self.step_seconds = {}
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "settings",
            "MONGODB_URI": mongo_uri,
            "EXAMPLE_DB_NAME": db_name,
            # Importable even when the package is not installed into this interpreter.
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])
            ),
            "PYTHONUNBUFFERED": "1",
        }

    def manage(self, *args, env=None):
        """Run a management command; fail the test with its output if it fails."""
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=EXAMPLE_DIR,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        if result.returncode:
            pytest.fail(
                f"manage.py {' '.join(args)} exited with {result.returncode} after "
                f"{time.monotonic() - started:.1f}s:\n{result.stdout[-3000:]}\n"
                f"{result.stderr[-6000:]}",
                pytrace=False,
            )
        return result.stdout

    def start(self):
        port = _free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        with open(self.log_path, "wb") as log:
            self.server = subprocess.Popen(
                [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
                cwd=EXAMPLE_DIR,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                pytest.fail(
                    f"runserver exited with {self.server.returncode}:\n{self.log_tail()}",
                    pytrace=False,
                )
            try:
                with urllib.request.urlopen(f"{self.base_url}/admin/login/", timeout=5):
                    return
            except urllib.error.HTTPError as error:
                pytest.fail(
                    f"runserver answered /admin/login/ with HTTP {error.code}:\n{self.log_tail()}",
                    pytrace=False,
                )
            except OSError:
                time.sleep(0.2)
        pytest.fail(
            f"runserver did not answer within {SERVER_START_TIMEOUT}s:\n{self.log_tail()}",
            pytrace=False,
        )

    def stop(self):
        if self.server is None or self.server.poll() is not None:
            return
        self.server.terminate()
        try:
            self.server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait(timeout=15)

    def log_tail(self, chars=8000):
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-chars:]
        return "(no server log)"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium with a fresh profile."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail(
            "selenium is not installed in this environment: the browser tests need it "
            "(pip install selenium)",
            pytrace=False,
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(WAIT * 4)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def example_site(mongo_uri, tmp_path_factory):
    """The example project migrated and served by ``runserver`` on a free port."""
    import pymongo

    db_name = f"example_e2e_{os.getpid()}"
    client = pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=10_000)
    client.drop_database(db_name)
    site = ExampleSite(mongo_uri, db_name, tmp_path_factory.mktemp("example-site"))
    site.database = client[db_name]
    try:
        site.manage("migrate", "--no-input")
        site.start()
        yield site
    finally:
        site.stop()
        client.drop_database(db_name)
        client.close()


# -- driving the admin -----------------------------------------------------------------------


class Admin:
    """Small helpers over the WebDriver for the pages of Django's admin."""

    def __init__(self, driver, site):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import Select, WebDriverWait

        self.driver = driver
        self.site = site
        self.By = By
        self.ec = expected_conditions
        self.Select = Select
        self.wait = WebDriverWait(driver, WAIT)

    # navigation

    def get(self, path):
        self.driver.get(self.site.base_url + path)
        self.check_page()

    def click_and_wait(self, element):
        """Click something that loads a new page, and wait for that page."""
        old_page = self.driver.find_element(self.By.TAG_NAME, "html")
        element.click()
        self.wait.until(self.ec.staleness_of(old_page))
        self.wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
        self.check_page()

    def click_link(self, text, within="#content"):
        area = self.find(within)
        self.click_and_wait(area.find_element(self.By.LINK_TEXT, text))

    def check_page(self):
        """Fail with the exception when the page is Django's technical error page."""
        if self.site.server.poll() is not None:
            pytest.fail(
                f"runserver exited with {self.site.server.returncode}:\n{self.site.log_tail()}",
                pytrace=False,
            )
        summary = self.driver.find_elements(self.By.CSS_SELECTOR, "#summary h1")
        if summary:
            values = self.driver.find_elements(self.By.CSS_SELECTOR, "#summary .exception_value")
            traceback = self.driver.find_elements(self.By.ID, "traceback_area")
            trace_text = traceback[0].get_attribute("textContent") if traceback else ""
            pytest.fail(
                f"server error at {self.driver.current_url}: {summary[0].text}\n"
                f"{values[0].text if values else ''}\n\n{trace_text[-6000:]}",
                pytrace=False,
            )
        if "Server Error (500)" in self.driver.title:
            pytest.fail(
                f"server error at {self.driver.current_url}:\n{self.site.log_tail()}",
                pytrace=False,
            )

    # reading

    def find(self, css):
        return self.wait.until(self.ec.presence_of_element_located((self.By.CSS_SELECTOR, css)))

    def text(self, css="#content"):
        return self.find(css).text

    def messages(self):
        return [m.text for m in self.driver.find_elements(self.By.CSS_SELECTOR, ".messagelist li")]

    def changelist_rows(self):
        """The first column (the link to the object) of each changelist row."""
        return [
            cell.text
            for cell in self.driver.find_elements(
                self.By.CSS_SELECTOR, "#result_list tbody tr th a"
            )
        ]

    # writing

    def fill(self, field_id, value):
        element = self.find(f"#{field_id}")
        element.clear()
        element.send_keys(value)
        return element

    def select(self, field_id, visible_text):
        self.Select(self.find(f"#{field_id}")).select_by_visible_text(visible_text)

    def save(self, name="_save"):
        """Press a submit button of a change form; fail with the form's errors if any."""
        self.click_and_wait(self.find(f'input[type="submit"][name="{name}"]'))
        errors = self.driver.find_elements(self.By.CSS_SELECTOR, ".errornote, .errorlist li")
        if errors:
            pytest.fail(
                "the form was not saved: " + "; ".join(e.text for e in errors if e.text),
                pytrace=False,
            )

    def assert_message(self, fragment):
        messages = self.messages()
        assert any(fragment in message for message in messages), messages


@pytest.fixture
def admin(browser, example_site):
    return Admin(browser, example_site)


def create_superuser(site, username):
    """A superuser, the way the README tells a new user to make one."""
    site.manage(
        "createsuperuser",
        "--no-input",
        f"--username={username}",
        f"--email={username}@example.com",
        env={"DJANGO_SUPERUSER_PASSWORD": PASSWORD},
    )


def log_in(admin, username):
    """Log in from a fresh session: /admin/ sends an anonymous visitor to the login form."""
    admin.driver.delete_all_cookies()
    admin.get("/admin/")
    assert "/admin/login/" in admin.driver.current_url
    admin.fill("id_username", username)
    admin.fill("id_password", PASSWORD)
    admin.click_and_wait(admin.find('input[type="submit"]'))
    assert "Site administration" in admin.text("#content h1")


def test_admin_end_to_end(admin, example_site):
    site, By = example_site, admin.By
    db = site.database
    steps = site.step_seconds  # shown in the report when a step fails
    clock = time.monotonic()

    def step(name):
        nonlocal clock
        now = time.monotonic()
        steps[name] = now - clock
        clock = now

    create_superuser(site, USERNAME)
    step("createsuperuser")

    # Log in: /admin/ sends an anonymous visitor to the login form.
    log_in(admin, USERNAME)
    assert "Posts" in admin.text("#content-main .app-blog")
    step("log in")

    # Two authors, from the index page's "Add" link, then "Save and add another".
    admin.click_and_wait(admin.find('a[href="/admin/blog/author/add/"]'))
    admin.fill("id_name", AUTHOR)
    admin.fill("id_email", "ada@example.com")
    admin.fill("id_bio", "Wrote the first program.")
    admin.save("_addanother")
    admin.assert_message("was added successfully")
    admin.fill("id_name", OTHER_AUTHOR)
    admin.save()
    assert admin.changelist_rows() == [AUTHOR, OTHER_AUTHOR]
    author_doc = db.blog_author.find_one({"name": AUTHOR})
    assert author_doc is not None, list(db.blog_author.find())
    step("add authors")

    # A tag.
    admin.get("/admin/blog/tag/add/")
    admin.fill("id_name", TAG)
    admin.save()
    admin.assert_message("was added successfully")
    assert admin.changelist_rows() == [TAG]
    step("add tag")

    # A post by that author, with the tag and one inline comment; the slug fills itself in.
    admin.get("/admin/blog/post/add/")
    admin.fill("id_title", TITLE)
    admin.wait.until(
        lambda d: d.find_element(By.ID, "id_slug").get_attribute("value") == "hello-mongodb"
    )
    admin.select("id_author", AUTHOR)
    admin.select("id_status", "Published")
    admin.fill("id_published_at_0", "2024-05-17")
    admin.fill("id_published_at_1", "10:30:00")
    admin.fill("id_body", "Querysets compile to aggregation pipelines.")
    admin.select("id_tags", TAG)
    admin.find("fieldset.collapse summary").click()  # open the collapsed "Extras"
    admin.fill("id_price", "2.50")
    admin.fill("id_metadata", '{"featured": true, "words": 5}')
    admin.fill("id_comments-0-author_name", COMMENTER)
    admin.fill("id_comments-0-body", "Nice post!")
    admin.save()
    admin.assert_message("was added successfully")
    step("add post")

    # It is in the changelist, with its author and status.
    assert admin.changelist_rows() == [TITLE]
    row = admin.text("#result_list tbody tr")
    assert AUTHOR in row
    assert "Published" in row
    assert "May 17, 2024" in row
    post_doc = db.blog_post.find_one({"title": TITLE})
    assert post_doc is not None
    assert post_doc["author_id"] == author_doc["_id"]
    assert str(post_doc["price"]) == "2.50"
    assert post_doc["metadata"] == {"featured": True, "words": 5}
    assert db.blog_comment.count_documents({"post_id": post_doc["_id"]}) == 1
    assert db.blog_post_tags.count_documents({"post_id": post_doc["_id"]}) == 1
    step("changelist")

    # Search: by the author's name (a join), then for something that is not there.
    for term, expected in [("lovelace", [TITLE]), ("MONGODB", [TITLE]), ("no such post", [])]:
        search = admin.fill("searchbar", term)
        admin.click_and_wait(search.find_element(By.XPATH, "ancestor::form//input[@type='submit']"))
        assert admin.changelist_rows() == expected, term
    admin.get("/admin/blog/post/")
    step("search")

    # List filters: status, author and tag (each click adds to the filters already chosen).
    for link, expected in [
        ("Draft", []),
        ("Published", [TITLE]),
        (OTHER_AUTHOR, []),
        (AUTHOR, [TITLE]),
        (TAG, [TITLE]),
    ]:
        admin.click_link(link, within="#changelist-filter")
        assert admin.changelist_rows() == expected, link
    admin.get("/admin/blog/post/")
    step("list filters")

    # Date hierarchy: one post, so it opens on May 2024 and offers that day.
    hierarchy = admin.text(".toplinks")
    assert "May 17" in hierarchy, hierarchy
    admin.click_link("May 17", within=".toplinks")
    assert "published_at__day=17" in admin.driver.current_url
    assert admin.changelist_rows() == [TITLE]
    for back_to in ["May 2024", "2024"]:
        back = admin.find(".toplinks a.date-back")
        assert back.text.endswith(back_to), back.text
        admin.click_and_wait(back)
        assert admin.changelist_rows() == [TITLE]
    assert "May" in admin.text(".toplinks")
    step("date hierarchy")

    # Edit the post: new title, a second comment.
    admin.get("/admin/blog/post/")
    admin.click_link(TITLE, within="#result_list")
    assert admin.find("#id_comments-0-author_name").get_attribute("value") == COMMENTER
    admin.fill("id_title", EDITED_TITLE)
    admin.fill("id_comments-1-author_name", "Linus")
    admin.fill("id_comments-1-body", "Agreed.")
    admin.save()
    admin.assert_message("was changed successfully")
    assert admin.changelist_rows() == [EDITED_TITLE]
    assert db.blog_comment.count_documents({"post_id": post_doc["_id"]}) == 2
    step("edit post")

    # The public page lists the published post.
    admin.get("/")
    assert EDITED_TITLE in admin.text("body")
    assert TAG in admin.text("body")
    step("public page")

    # django-reversion's VersionAdmin (which refuses databases without savepoints): the post's
    # history lists both saves; the oldest version's page shows the old title and comments
    # (reversion reverts in a transaction it rolls back to render it); saving it reverts.
    post_id = post_doc["_id"]
    admin.get(f"/admin/blog/post/{post_id}/history/")
    versions = admin.driver.find_elements("css selector", "#change-history tbody th a")
    assert len(versions) == 2, admin.text("#content")
    admin.click_and_wait(versions[0])  # oldest first (VersionAdmin.history_latest_first)
    assert admin.find("#id_title").get_attribute("value") == TITLE
    assert db.blog_post.find_one({"_id": post_id})["title"] == EDITED_TITLE  # only a preview
    admin.save()
    admin.assert_message("was changed successfully")
    assert admin.changelist_rows() == [TITLE]
    assert db.blog_comment.count_documents({"post_id": post_id}) == 1  # the later one undone
    step("revert with django-reversion")

    # Delete the author: the confirmation page lists what goes with it.
    admin.get("/admin/blog/author/")
    admin.click_link(AUTHOR, within="#result_list")
    admin.click_and_wait(admin.find("a.deletelink"))
    confirmation = admin.text("#content")
    assert "Are you sure you want to delete the author" in confirmation, confirmation
    assert f"Post: {TITLE}" in confirmation, confirmation
    assert f"Comment: {COMMENTER} on {TITLE}" in confirmation, confirmation
    admin.click_and_wait(admin.find('#content form input[type="submit"]'))
    admin.assert_message("was deleted successfully")
    assert admin.changelist_rows() == [OTHER_AUTHOR]
    step("delete author")

    # The documents are gone from MongoDB; the other author and the tag stay.
    assert [doc["name"] for doc in db.blog_author.find()] == [OTHER_AUTHOR]
    assert db.blog_post.count_documents({}) == 0
    assert db.blog_comment.count_documents({}) == 0
    assert db.blog_post_tags.count_documents({}) == 0
    assert db.blog_tag.count_documents({"name": TAG}) == 1
    step("verify in MongoDB")

    print("steps (s):", ", ".join(f"{name} {seconds:.1f}" for name, seconds in steps.items()))


def test_admin_file_field_in_gridfs(admin, example_site, tmp_path):
    """The post's attachment (a FileField on GridFSStorage, settings.STORAGES): upload it in
    the admin, download it through its link (the storage's view at /media/), replace it and
    clear it, checking the bucket in MongoDB at each step."""
    site = example_site
    db = site.database
    create_superuser(site, "files-admin")
    log_in(admin, "files-admin")

    admin.get("/admin/blog/author/add/")
    admin.fill("id_name", "Mary Shelley")
    admin.save()

    # Upload: a new post with an attachment.
    first = tmp_path / "notes.txt"
    first.write_text("First draft of the notes.\n")
    admin.get("/admin/blog/post/add/")
    admin.fill("id_title", "With an attachment")
    admin.wait.until(
        lambda d: (
            d.find_element(admin.By.ID, "id_slug").get_attribute("value") == "with-an-attachment"
        )
    )
    admin.select("id_author", "Mary Shelley")
    admin.find("#id_attachment").send_keys(str(first))
    admin.save()
    admin.assert_message("was added successfully")
    post = db.blog_post.find_one({"title": "With an attachment"})
    assert post["attachment"] == "attachments/notes.txt"
    stored = db["fs.files"].find_one({"filename": "attachments/notes.txt"})
    assert stored["length"] == first.stat().st_size
    assert db["fs.chunks"].find_one({"files_id": stored["_id"]})["data"] == first.read_bytes()

    # Download it through the link the change form shows ("Currently: ...").
    admin.get(f"/admin/blog/post/{post['_id']}/change/")
    link = admin.find(".file-upload a")
    href = link.get_attribute("href")
    assert href == f"{site.base_url}/media/attachments/notes.txt"
    admin.click_and_wait(link)
    assert admin.text("body") == first.read_text().strip()  # text/plain is shown inline
    with urllib.request.urlopen(href, timeout=WAIT) as response:
        assert response.read() == first.read_bytes()
        assert response.headers["Content-Type"] == "text/plain"
        assert response.headers["Content-Length"] == str(first.stat().st_size)
        assert response.headers["ETag"] == f'"{stored["_id"]}"'

    # Replace it with another file of the same name: the name is taken, so the new file gets
    # another one (as with FileSystemStorage); the old file stays, as Django never deletes it.
    second = tmp_path / "replacement" / "notes.txt"
    second.parent.mkdir()
    second.write_text("Second, final version.\n")
    admin.get(f"/admin/blog/post/{post['_id']}/change/")
    admin.find("#id_attachment").send_keys(str(second))
    admin.save()
    admin.assert_message("was changed successfully")
    new_name = db.blog_post.find_one({"_id": post["_id"]})["attachment"]
    assert new_name.startswith("attachments/notes_")
    assert new_name.endswith(".txt")
    assert sorted(doc["filename"] for doc in db["fs.files"].find()) == sorted(
        ["attachments/notes.txt", new_name]
    )
    admin.get(f"/admin/blog/post/{post['_id']}/change/")
    link = admin.find(".file-upload a")
    assert link.get_attribute("href") == f"{site.base_url}/media/{new_name}"
    admin.click_and_wait(link)
    assert admin.text("body") == second.read_text().strip()

    # Clear it: the "Clear" checkbox empties the field; the link is gone.
    admin.get(f"/admin/blog/post/{post['_id']}/change/")
    admin.find("#attachment-clear_id").click()
    admin.save()
    admin.assert_message("was changed successfully")
    assert db.blog_post.find_one({"_id": post["_id"]})["attachment"] == ""
    admin.get(f"/admin/blog/post/{post['_id']}/change/")
    assert not admin.driver.find_elements(admin.By.CSS_SELECTOR, ".file-upload a")
    # The files themselves stay in GridFS (Django deletes no file when a field lets go of
    # it); the storage deletes one when asked: here, through the shell.
    assert db["fs.files"].count_documents({}) == 2
    site.manage(
        "shell",
        "-c",
        "from django.core.files.storage import default_storage as s; "
        "[s.delete(n) for n in ('attachments/notes.txt', " + repr(new_name) + ")]",
    )
    assert db["fs.files"].count_documents({}) == 0
    assert db["fs.chunks"].count_documents({}) == 0
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(href, timeout=WAIT)
    assert missing.value.code == 404
