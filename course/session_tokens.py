"""Sign-ins that survive a page reload: a random token in a browser cookie, the identity on the server.

Streamlit starts a new session on every reload, so `st.session_state` loses the sign-in.
After a sign-in the page stores a random token in a cookie, and a new session reads it back from
`st.context.cookies` and looks the identity up here. The tokens live only in the server
process's memory: a restart signs everyone out, and no secret is written to disk. Signing out
revokes the session's token, and a teacher's password reset revokes all of that student's.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

COOKIE_NAME = "llm_from_scratch_session"
# A school day with room to spare; a student signs in again the next morning.
TOKEN_LIFETIME_S = 12 * 3600


@dataclass(frozen=True)
class _Entry:
    identity: object  # a grader.classroom.Identity: a student's, or the teacher's
    expires: float


class SessionTokens:
    """Random tokens that each stand for one signed-in identity until they expire or are revoked."""

    def __init__(self, lifetime_s: float = TOKEN_LIFETIME_S, clock: Callable[[], float] = time.monotonic):
        if lifetime_s <= 0:
            raise ValueError(f"lifetime_s must be > 0 seconds, got {lifetime_s}")
        self.lifetime_s = lifetime_s
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def issue(self, identity) -> str:
        """Return a new token for `identity`."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._entries[token] = _Entry(identity, self._clock() + self.lifetime_s)
        return token

    def restore(self, token: str | None):
        """Return the identity behind `token`, or None if it is unknown, revoked or expired."""
        if not isinstance(token, str):
            return None
        with self._lock:
            entry = self._entries.get(token)
            if entry is None:
                return None
            if entry.expires <= self._clock():
                del self._entries[token]
                return None
            return entry.identity

    def revoke(self, token: str | None) -> None:
        """Forget `token`, so that it no longer signs anyone in."""
        with self._lock:
            self._entries.pop(token, None)

    def revoke_student(self, student_id: str) -> int:
        """Forget every token of one student; return how many there were."""
        with self._lock:
            tokens = [token for token, entry in self._entries.items()
                      if getattr(entry.identity, "student_id", None) == student_id]
            for token in tokens:
                del self._entries[token]
        return len(tokens)


def set_cookie_script(token: str, lifetime_s: float = TOKEN_LIFETIME_S) -> str:
    """Return a script that stores `token` in the session cookie of this site.

    >>> "max-age=60" in set_cookie_script("abc", 60)
    True
    """
    # SameSite=Strict: another site's page cannot make the browser send it to the app.
    return (f"<script>document.cookie = '{COOKIE_NAME}={token}; path=/; max-age={int(lifetime_s)}; "
            f"SameSite=Strict';</script>")


def clear_cookie_script() -> str:
    """Return a script that deletes the session cookie."""
    return f"<script>document.cookie = '{COOKIE_NAME}=; path=/; max-age=0; SameSite=Strict';</script>"
