"""Classroom mode: sign-in, one workspace per student, saving code, and checks on that workspace.

The teacher sets a class code and a teacher password; both are stored in the gradebook as
salted scrypt hashes, and neither is logged. A student signs in with a name, the class code and
a password of their own. The first sign-in under a name claims it: the password typed then is
stored as a salted scrypt hash in the setting `classroom.student_password.<student id>`, and
every later sign-in under that name must match it. A student who has lost it turns to the teacher,
whose reset removes the hash so that the next sign-in sets a new password. Code and progress
stay. The student works in `course_data/workspaces/<student id>/exercises/`, copied from the
stubs on first sign-in. Every save is atomic and moves the previous version to `history/`, so
nothing saved is lost. A student may read only their own workspace and progress; the teacher
may read all.

Local mode is the same API over a student's own checkout. `local_identity(repository)`
returns an identity whose files are the checkout's `exercises/`, with no sign-in, and its
progress goes to the gradebook at `default_url(repository)`.

Deliberately left out: a lockout or delay after failed sign-ins. A student password stops a
classmate who types another student's name, but a 4-character password does not stop a
script that guesses passwords against the server.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import shutil
import tempfile
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from grader.catalog import BY_ID
from grader.gradebook import AttemptRecord, DuplicateEntry, Gradebook, MissingEntry
from grader.grading import ExerciseResult, grade, read_workspace
from reference.files import write_atomically

logger = logging.getLogger(__name__)

REPOSITORY = Path(__file__).resolve().parents[1]
SIGN_IN_FAILED = "Sign-in failed: the class code or the password is wrong, or the class is not set up yet."
CLASS_CODE_SETTING = "classroom.class_code_hash"
TEACHER_PASSWORD_SETTING = "classroom.teacher_password_hash"
STUDENT_PASSWORD_PREFIX = "classroom.student_password."
MIN_STUDENT_PASSWORD_LENGTH = 4
MAX_NAME_LENGTH = 40
MAX_CODE_BYTES = 256 * 1024  # a lesson file is a few kB; this leaves room and stops paste floods
# scrypt cost: N = 2**14, r = 8 takes about 50 ms and 16 MiB per hash, the parameters Python's
# documentation and OWASP list for interactive logins.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1


class AccessDenied(PermissionError):
    """The signed-in person may not read or change what they asked for."""


class SignInFailed(PermissionError):
    """A wrong class code or password. The message does not reveal which one was wrong."""


@dataclass(frozen=True)
class Workspace:
    """One student's files: `root/exercises/` is graded, `root/history/` keeps old versions."""

    student_id: str
    root: Path

    @property
    def exercises(self) -> Path:
        return self.root / "exercises"

    @property
    def history(self) -> Path:
        return self.root / "history"


@dataclass(frozen=True)
class Identity:
    """The signed-in person: a student with their workspace, or the teacher (student_id and workspace None)."""

    student_id: str | None
    workspace: Workspace | None

    @property
    def is_teacher(self) -> bool:
        return self.student_id is None


def hash_secret(secret: str, salt: bytes | None = None) -> str:
    """Hash `secret` with scrypt and a random salt; return "scrypt$N$r$p$salt$hash" in hex."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_secret(secret: str, stored: str) -> bool:
    """Return whether `secret` matches a hash made by `hash_secret`, in constant time."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        candidate = hashlib.scrypt(secret.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                                   dklen=len(digest) // 2)
    except ValueError:
        logger.error("a stored classroom secret hash is malformed; set the class code and password again")
        return False
    return scheme == "scrypt" and hmac.compare_digest(candidate.hex(), digest)


def normalize_student_id(name: str) -> str:
    """Validate a student's name and derive the id that names their workspace folder.

    Letters and digits of any script are kept in lower case. Every other run of characters
    becomes one "-", so no id contains a path separator or "..".

    >>> normalize_student_id("  Ada  Lovelace ")
    'ada-lovelace'
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    cleaned = " ".join(unicodedata.normalize("NFKC", name).split())
    if not cleaned or len(cleaned) > MAX_NAME_LENGTH:
        raise ValueError(f"name must have 1 to {MAX_NAME_LENGTH} characters, got {len(cleaned)}; "
                         "type your first and last name")
    if any(mark in cleaned for mark in ("/", "\\", "..", "\x00")) or not cleaned.isprintable():
        raise ValueError(f"name {cleaned!r} contains '/', '\\', '..' or a control character; use letters, "
                         "digits and spaces")
    student_id = re.sub(r"[\W_]+", "-", cleaned.casefold()).strip("-")
    if not student_id:
        raise ValueError(f"name {cleaned!r} has no letters or digits; type your name in letters")
    return student_id


def student_password_setting(student_id: str) -> str:
    """Return the gradebook setting that stores the hash of a student's password.

    >>> student_password_setting("ada-lovelace")
    'classroom.student_password.ada-lovelace'
    """
    return STUDENT_PASSWORD_PREFIX + student_id


def check_student_password(password: str) -> None:
    """Raise TypeError or ValueError unless `password` may become a student's password."""
    if not isinstance(password, str):
        raise TypeError(f"password must be a str, got {type(password).__name__}")
    if len(password) < MIN_STUDENT_PASSWORD_LENGTH:
        raise ValueError(f"the password must have at least {MIN_STUDENT_PASSWORD_LENGTH} characters, got "
                         f"{len(password)}; type a longer one")


def local_identity(repository: Path = REPOSITORY) -> Identity:
    """Return local mode's identity: student "local", whose workspace is the checkout itself."""
    return Identity("local", Workspace("local", repository))


class Classroom:
    """The classroom server's rules over a course folder and its gradebook."""

    def __init__(self, course_folder: Path, gradebook: Gradebook, stubs: Path = REPOSITORY / "exercises"):
        self.course_folder = course_folder
        self.data_folder = course_folder / "course_data"
        self.workspaces = self.data_folder / "workspaces"
        self.gradebook = gradebook
        self.stubs = stubs

    # ------------------------------------------------------------------------------------
    # the teacher's settings and sign-in

    def configure(self, class_code: str, teacher_password: str) -> None:
        """Set (or change) the class code and the teacher password; only their hashes are stored."""
        if not isinstance(class_code, str) or len(class_code.strip()) < 4:
            raise ValueError("the class code must have at least 4 characters; choose a longer one")
        if not isinstance(teacher_password, str) or len(teacher_password) < 8:
            raise ValueError("the teacher password must have at least 8 characters; choose a longer one")
        self.gradebook.update_or_create_setting(CLASS_CODE_SETTING, hash_secret(class_code.strip()))
        self.gradebook.update_or_create_setting(TEACHER_PASSWORD_SETTING, hash_secret(teacher_password))
        logger.info("classroom class code and teacher password set")

    def sign_in_teacher(self, class_code: str, teacher_password: str) -> Identity:
        """Return the teacher's identity, or raise SignInFailed without saying which secret was wrong."""
        code_ok = self._matches(CLASS_CODE_SETTING, class_code.strip() if isinstance(class_code, str) else "")
        password_ok = self._matches(TEACHER_PASSWORD_SETTING, teacher_password if isinstance(teacher_password, str) else "")
        if not (code_ok and password_ok):
            logger.warning("teacher sign-in rejected")
            raise SignInFailed(SIGN_IN_FAILED)
        logger.info("teacher signed in")
        return Identity(None, None)

    def sign_in_student(self, name: str, class_code: str, password: str) -> Identity:
        """Sign a student in by name, class code and password; create their workspace on first sign-in.

        The first sign-in under a name, or the first after the teacher's reset, stores `password`
        as that student's. Any other sign-in must match the stored password. A wrong class code or
        password raises SignInFailed with one message for both.
        """
        student_id = normalize_student_id(name)
        if not self._matches(CLASS_CODE_SETTING, class_code.strip() if isinstance(class_code, str) else ""):
            logger.warning("student sign-in rejected for %s: wrong class code", student_id)
            raise SignInFailed(SIGN_IN_FAILED)
        # Checked on every sign-in, not only the first, so that a short password's error does not
        # reveal whether the name is claimed.
        check_student_password(password)
        self._verify_student_password(student_id, password)
        self.gradebook.update_or_create_student(student_id, first_name=" ".join(name.split()))
        workspace = self._create_workspace(student_id)
        logger.info("student %s signed in", student_id)
        return Identity(student_id, workspace)

    # ------------------------------------------------------------------------------------
    # a student's code

    def save_code(self, identity: Identity, exercise_id: str, code: str, student_id: str | None = None) -> Path:
        """Replace the lesson file that contains `exercise_id` with `code` (the whole file), atomically.

        The previous version moves to the workspace's history first, so every saved version stays.
        """
        workspace = self.workspace_for(identity, student_id)
        if not isinstance(code, str):
            raise TypeError(f"code must be a str, got {type(code).__name__}")
        if len(code.encode("utf-8")) > MAX_CODE_BYTES:
            raise ValueError(f"code has {len(code.encode('utf-8'))} bytes, more than {MAX_CODE_BYTES}; "
                             "save a shorter file")
        path = workspace.root / _stub_path(exercise_id)
        if path.exists():
            previous = path.read_text(encoding="utf-8")
            if previous == code:
                return path
            _keep_version(workspace, path, previous)
        write_atomically(path, code.encode("utf-8"))
        logger.info("saved %s for %s", path.name, workspace.student_id)
        return path

    def load_code(self, identity: Identity, exercise_id: str, student_id: str | None = None) -> str:
        """Return the source of the lesson file that contains `exercise_id`."""
        workspace = self.workspace_for(identity, student_id)
        return (workspace.root / _stub_path(exercise_id)).read_text(encoding="utf-8")

    def check(self, identity: Identity, exercise_id: str, pool) -> ExerciseResult:
        """Grade one exercise on the student's workspace and record the attempt in the gradebook.

        `pool` must hide the course data from student code: build it with
        `WorkerPool(hidden_paths=classroom.hidden_paths())`.
        """
        workspace = self.workspace_for(identity)
        if exercise_id not in BY_ID:
            raise ValueError(f"unknown exercise {exercise_id!r}; choose one of: {', '.join(BY_ID)}")
        files = {f"exercises/{name}": source for name, source in read_workspace(workspace.exercises).items()}
        result = grade([exercise_id], files, pool)[0]
        code = files.get(_stub_path(exercise_id), "")
        self.gradebook.add_attempt(workspace.student_id, result, code, attempt_id=str(uuid.uuid4()))
        return result

    def hidden_paths(self) -> tuple[Path, ...]:
        """Folders that the grader's sandbox must hide from student code."""
        return (self.data_folder,)

    # ------------------------------------------------------------------------------------
    # authorization

    def workspace_for(self, identity: Identity, student_id: str | None = None) -> Workspace:
        """Return the workspace `identity` may use: its own, or any student's for the teacher."""
        requested = student_id if student_id is not None else identity.student_id
        if requested is None:
            raise ValueError("the teacher has no workspace; pass student_id to open a student's workspace")
        if not identity.is_teacher and requested != identity.student_id:
            logger.warning("student %s was denied the workspace of %s", identity.student_id, requested)
            raise AccessDenied("you can open only your own workspace")
        if identity.workspace is not None and requested == identity.student_id:
            return identity.workspace  # local mode's workspace is the checkout, not a server folder
        student = normalize_student_id(requested)
        workspace = Workspace(student, self.workspaces / student)
        if not workspace.exercises.is_dir():
            raise MissingEntry(f"student {requested!r} has no workspace; they create it by signing in")
        return workspace

    def progress(self, identity: Identity, student_id: str | None = None) -> list[AttemptRecord]:
        """Return a student's attempts. A student may read only their own, the teacher anyone's."""
        workspace = self.workspace_for(identity, student_id)
        return self.gradebook.find_attempts(student_id=workspace.student_id)

    def require_teacher(self, identity: Identity) -> None:
        """Raise AccessDenied unless `identity` is the teacher (the dashboard calls this first)."""
        if not identity.is_teacher:
            logger.warning("student %s was denied the teacher's dashboard", identity.student_id)
            raise AccessDenied("the dashboard is for the teacher; sign in with the teacher password")

    def reset_student_password(self, identity: Identity, student_id: str) -> None:
        """Remove a student's stored password so that their next sign-in sets a new one (teacher only).

        The student's workspace and gradebook records stay as they are.
        """
        self.require_teacher(identity)
        student = normalize_student_id(student_id)
        if not self._is_known_student(student):
            raise MissingEntry(f"no student {student_id!r} in this class; choose a student who has signed in")
        try:
            self.gradebook.remove_setting(student_password_setting(student))
        except MissingEntry:
            logger.info("student %s had no password to reset", student)
            return
        logger.info("teacher reset the password of student %s", student)

    # ------------------------------------------------------------------------------------
    # steps

    def _matches(self, setting: str, secret: str) -> bool:
        try:
            stored = self.gradebook.find_setting(setting)
        except MissingEntry:
            return False
        return verify_secret(secret, stored)

    def _verify_student_password(self, student_id: str, password: str) -> None:
        setting = student_password_setting(student_id)
        if self._claim_password(student_id, password):
            return
        if not self._matches(setting, password):
            logger.warning("student sign-in rejected for %s: wrong password", student_id)
            raise SignInFailed(SIGN_IN_FAILED)

    def _claim_password(self, student_id: str, password: str) -> bool:
        """Store the hash of `password` if the student has none yet; return whether this call stored it."""
        setting = student_password_setting(student_id)
        try:
            self.gradebook.find_setting(setting)
            return False
        except MissingEntry:
            pass
        try:
            # Of two first sign-ins at the same moment, add_setting lets only one store its hash,
            # and the other is then checked against that hash.
            self.gradebook.add_setting(setting, hash_secret(password))
        except DuplicateEntry:
            return False
        logger.info("student %s set their password", student_id)
        return True

    def _is_known_student(self, student_id: str) -> bool:
        if (self.workspaces / student_id / "exercises").is_dir():
            return True
        try:
            self.gradebook.find_student(student_id)
        except MissingEntry:
            return False
        return True

    def _create_workspace(self, student_id: str) -> Workspace:
        workspace = Workspace(student_id, self.workspaces / student_id)
        if workspace.exercises.is_dir():
            return workspace  # code saved in an earlier session stays as it is
        self.workspaces.mkdir(parents=True, exist_ok=True)
        # Normalized ids contain only letters, digits and "-", so this "."-prefixed staging folder
        # cannot collide with a workspace.
        staging = Path(tempfile.mkdtemp(prefix=f".{student_id}-", dir=self.workspaces))
        shutil.copytree(self.stubs, staging / "exercises", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        try:
            os.rename(staging, workspace.root)  # atomic: two sign-ins at once cannot mix two copies
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if not workspace.exercises.is_dir():
                raise
        logger.info("created workspace %s", workspace.root)
        return workspace


def _stub_path(exercise_id: str) -> str:
    if exercise_id not in BY_ID:
        raise ValueError(f"unknown exercise {exercise_id!r}; choose one of: {', '.join(BY_ID)}")
    return BY_ID[exercise_id].stub_path


def _keep_version(workspace: Workspace, path: Path, previous: str) -> None:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    digest = hashlib.sha256(previous.encode("utf-8")).hexdigest()[:8]
    write_atomically(workspace.history / path.stem / f"{stamp}-{digest}.py", previous.encode("utf-8"))
